from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import review_views, views

router = DefaultRouter()
router.register("predictions", views.PredictionViewSet, basename="prediction")

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("review/", review_views.review_dashboard, name="review-dashboard"),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    re_path(r"^media/(?P<path>drawings/[\w/]+\.(?:png|jpg))$", views.drawing, name="drawing"),
]
