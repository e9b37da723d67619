from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from . import views
from .review import views as review_views

router = DefaultRouter()
# `/api/predictions/ID.json` and its like, DRF's second spelling of each URL: the update and the feedback
# took no `format` and answered 500, and `?format=` says the same.
router.include_format_suffixes = False
router.register("predictions", views.PredictionViewSet, basename="prediction")

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("review/", review_views.review_dashboard, name="review-dashboard"),
    path("review/queue/", review_views.review_queue, name="review-queue"),
    path("review/queue/next/", review_views.next_item, name="review-next"),
    path("review/queue/<uuid:prediction_id>/label/", review_views.label, name="review-label"),
    path("review/queue/<uuid:prediction_id>/lease/", review_views.renew_lease, name="review-lease"),
    path("review/queue/<uuid:prediction_id>/release/", review_views.release_lease, name="review-release"),
    path("review/queue/<uuid:prediction_id>/saliency.png", review_views.saliency, name="review-saliency"),
    path("api/", include(router.urls)),
    path("api/schema/", views.SchemaView.as_view(), name="schema"),
    # An OPTIONS request made its HTML renderer look for a template it has none of: a 500.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", http_method_names=["get", "head"]),
         name="api-docs"),
    re_path(r"^media/(?P<path>drawings/[\w/]+\.(?:png|jpg))$", views.drawing, name="drawing"),
]
