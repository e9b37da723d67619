from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("predictions", views.PredictionViewSet, basename="prediction")

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Drawings have random names and only image extensions; serve() refuses paths outside MEDIA_ROOT.
    re_path(r"^media/(?P<path>drawings/[\w/]+\.(?:png|jpg))$", serve, {"document_root": settings.MEDIA_ROOT},
            name="media"),
]
