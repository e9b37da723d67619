"""Validation of what clients send, and the shape of what they get back."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mlcore.preprocess import BlankDrawingError, to_mnist_input

from . import imaging
from .models import Prediction


@extend_schema_field(OpenApiTypes.BINARY)
class ImageField(serializers.Field):
    """A PNG or JPEG as a multipart file, or as a base64 data URL in JSON."""

    default_error_messages = {"type": "send a PNG or JPEG file, or a string data:image/png;base64,..."}

    def to_internal_value(self, data) -> imaging.DecodedImage:
        try:
            if isinstance(data, UploadedFile):
                return imaging.decode(data.read())
            if isinstance(data, str):
                return imaging.decode(imaging.from_data_url(data))
        except imaging.ImageRejected as exc:
            raise serializers.ValidationError(str(exc)) from None
        self.fail("type")


class ProbabilitySerializer(serializers.Serializer):
    digit = serializers.IntegerField(min_value=0, max_value=9)
    probability = serializers.FloatField(min_value=0, max_value=1)


class PredictionSerializer(serializers.Serializer):
    # Declared field by field rather than as a ModelSerializer: this runs on every prediction,
    # and introspecting the model for each request costs more than the rest of the validation.
    id = serializers.UUIDField(read_only=True)
    image = ImageField(write_only=True)
    source = serializers.ChoiceField(choices=Prediction.Source.choices, default=Prediction.Source.API)
    digit = serializers.IntegerField(read_only=True, min_value=0, max_value=9)
    confidence = serializers.FloatField(read_only=True)
    top3 = ProbabilitySerializer(many=True, read_only=True)
    probabilities = serializers.ListField(child=serializers.FloatField(), min_length=10, max_length=10,
                                          read_only=True)
    model_version = serializers.CharField(source="model_version.name", read_only=True)
    image_url = serializers.SerializerMethodField()
    reported_label = serializers.IntegerField(read_only=True, allow_null=True)
    true_label = serializers.IntegerField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def to_internal_value(self, data):
        # The browsable API's HTML form adds its CSRF token to the fields.
        unknown = set(getattr(data, "keys", lambda: [])()) - set(self.fields) - {"csrfmiddlewaretoken"}
        if unknown:
            raise serializers.ValidationError(
                {name: "unknown field; send the drawing as `image`" for name in sorted(unknown)})
        return super().to_internal_value(data)

    def validate(self, attrs):
        try:
            attrs["mnist_input"] = to_mnist_input(attrs["image"].image,
                                                  photo=attrs["source"] == Prediction.Source.UPLOAD)
        except BlankDrawingError as exc:
            raise serializers.ValidationError({"image": str(exc)}) from None
        return attrs

    def get_image_url(self, prediction: Prediction) -> str:
        request = self.context.get("request")
        url = prediction.image.url
        return request.build_absolute_uri(url) if request else url


class FeedbackSerializer(serializers.Serializer):
    label = serializers.IntegerField(min_value=0, max_value=9, help_text="The digit the drawer meant.")
