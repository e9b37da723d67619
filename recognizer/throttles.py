from django.conf import settings
from rest_framework.throttling import AnonRateThrottle


class PredictionRateThrottle(AnonRateThrottle):
    """Per-client limit on new predictions, counted in the shared cache so all workers agree."""

    scope = "predictions"

    def get_rate(self):
        return settings.PREDICTION_RATE_LIMIT

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
