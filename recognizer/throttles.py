from rest_framework.throttling import AnonRateThrottle


class PredictionRateThrottle(AnonRateThrottle):
    """Per-client limit on new predictions (PREDICTION_RATE_LIMIT), counted in the shared cache."""

    scope = "predictions"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
