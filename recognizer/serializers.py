"""Validation of what clients send, and the shape of what they get back."""

from __future__ import annotations

import reprlib

from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from mlcore.labels import NOT_A_DIGIT
from mlcore.preprocess import BlankDrawingError, empty_input, read_image
from mlcore.render import PAPER, reading
from mlcore.validation import is_integer

from . import access, imaging, strokes
from .inference import likeliest_digit, recognize, redraw
from .models import Prediction


@extend_schema_field(OpenApiTypes.BINARY)
class ImageField(serializers.Field):
    """An image (imaging.FORMAT_NAMES) as a multipart file, or as a base64 data URL in JSON."""

    default_error_messages = {"type": f"send a {imaging.FORMAT_NAMES} file, or a string data:image/png;base64,..."}

    def to_internal_value(self, data) -> imaging.DecodedImage:
        try:
            if isinstance(data, UploadedFile):
                return imaging.decode(data.read())
            if isinstance(data, str):
                return imaging.decode(imaging.from_data_url(data))
        except imaging.ImageRejected as exc:
            raise serializers.ValidationError(str(exc)) from None
        self.fail("type")


@extend_schema_field({
    "type": "array", "minItems": 1, "maxItems": strokes.MAX_STROKES,
    "description": f"The drawing as strokes, at most {strokes.MAX_STROKES} with {strokes.MAX_POINTS:,} points in all. "
                   "Each point is [x, y, t, pressure]: x and y fractions of the canvas side, both of the same length "
                   "(a canvas that is not square divides both by its longer side; 0 to 1 on the canvas, "
                   "-0.5 to 1.5 where the pointer left it: the model reads the whole drawing), t milliseconds "
                   "since the drawing's first point (never decreasing within a stroke), pressure 0 to 1.",
    "items": {
        "type": "object", "required": ["pointer", "points"], "additionalProperties": False,
        "properties": {
            "pointer": {"type": "string", "enum": list(strokes.POINTER_TYPES)},
            "points": {"type": "array", "minItems": 1,
                       "items": {"type": "array", "minItems": 4, "maxItems": 4,
                                 # OpenAPI 3.0 has no bounds per position: the loosest, x's and y's.
                                 "items": {"type": "number", "minimum": -strokes.OFF_CANVAS}}},
        },
    },
})
class StrokesField(serializers.Field):
    """The strokes of a drawing, as the page records them (see recognizer/strokes.py)."""

    def to_internal_value(self, data) -> list[dict]:
        try:
            return strokes.check(data)
        except strokes.StrokesRejected as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value


def refuse_unknown_or_repeated_fields(serializer: serializers.Serializer, data, remedy: str) -> None:
    """A ValidationError naming each field of `data` the serializer does not declare, with `remedy`: a field
    misspelt is refused, where DRF would ignore it. And one a form or a multipart body gives more than once: of
    two images, one was read and the other dropped unseen."""
    if hasattr(data, "getlist"):
        repeated = sorted(name for name in data.keys() if len(data.getlist(name)) > 1)
        if repeated:
            raise serializers.ValidationError(
                {reprlib.repr(name)[1:-1]: "given more than once; send it once" for name in repeated})
    if hasattr(data, "keys"):
        # The browsable API's HTML form adds its CSRF token to the fields.
        unknown = set(data.keys()) - set(serializer.fields) - {"csrfmiddlewaretoken"}
        if unknown:
            raise serializers.ValidationError(
                {reprlib.repr(name)[1:-1]: f"unknown field; {remedy}" for name in sorted(unknown)})


class ProbabilitySerializer(serializers.Serializer):
    digit = serializers.IntegerField(min_value=0, max_value=9)
    probability = serializers.FloatField(min_value=0, max_value=1)


class PredictionSerializer(serializers.Serializer):
    # Declared field by field rather than as a ModelSerializer: this runs on every prediction,
    # and introspecting the model for each request costs more than the rest of the validation.
    id = serializers.UUIDField(read_only=True)
    secret = serializers.CharField(
        read_only=True, help_text="Only in the answer that created the prediction: send it back in the "
                                  "X-Drawing-Secret header to read, change, give feedback on or delete it.")
    image = ImageField(write_only=True, required=False,
                       help_text=f"The drawing or photo as a {imaging.FORMAT_NAMES}; send either this or `strokes`.")
    strokes = StrokesField(write_only=True, required=False)
    source = serializers.ChoiceField(
        choices=Prediction.Source.choices, default=Prediction.Source.API,
        # DRF's own message repeats what was sent, however long.
        error_messages={"invalid_choice": f"must be one of {', '.join(Prediction.Source.values)}"},
        help_text="Where the drawing comes from; set when it is created, kept on updates.")
    digit = serializers.IntegerField(read_only=True, allow_null=True, min_value=0, max_value=9,
                                     help_text="The recognised digit, or null when the drawing is not one digit.")
    confidence = serializers.FloatField(read_only=True)
    top3 = ProbabilitySerializer(many=True, read_only=True)
    probabilities = serializers.ListField(child=serializers.FloatField(), min_length=10, max_length=10,
                                          read_only=True)
    model_version = serializers.CharField(source="model_version.name", read_only=True)
    image_url = serializers.SerializerMethodField()
    reported_label = serializers.IntegerField(read_only=True, allow_null=True)
    true_label = serializers.IntegerField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    revision = serializers.IntegerField(read_only=True, help_text="How many times the drawing was changed.")

    def to_internal_value(self, data):
        refuse_unknown_or_repeated_fields(self, data, "send the drawing as `image` or `strokes`")
        if hasattr(data, "keys"):
            drawing = {"image", "strokes"} & set(data.keys())
            if len(drawing) != 1:
                raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [
                    "send the drawing as `image` or as `strokes`, not both" if drawing
                    else f"send the drawing as `image` (a {imaging.FORMAT_NAMES}) or as `strokes`"]})
        return super().to_internal_value(data)

    def validate(self, attrs):
        if self.instance is not None:
            # Kept from its creation, the record's source decides how each version is read: as a photo or not.
            attrs["source"] = self.instance.source
        if "strokes" in attrs:
            attrs["image"] = strokes.render(attrs["strokes"])
            read, photo, paper = reading(strokes.paths(attrs["strokes"]), attrs["image"].image), False, PAPER
        elif "image" in attrs:
            attrs["strokes"] = None
            # An upload is a photo by its sender's word, a picture a camera took by its metadata; any
            # other image, where its paper looks so.
            decoded = attrs["image"]
            said = attrs["source"] == Prediction.Source.UPLOAD or decoded.from_camera
            read, photo, paper = decoded.image, True if said else None, None
        else:
            # A form field sent empty (`image=`) reaches here as no field at all.
            raise serializers.ValidationError(
                {"image": f"the image is empty; send a {imaging.FORMAT_NAMES}, or `strokes`"})
        try:
            attrs["mnist_input"], attrs["photo"] = (empty_input(), False) if read is None else read_image(
                read, photo=photo, likeliest=likeliest_digit, paper=paper)
        except BlankDrawingError as exc:
            raise serializers.ValidationError({"strokes" if attrs["strokes"] else "image": str(exc)}) from None
        return attrs

    def create(self, validated_data) -> Prediction:
        # Sent again with its idempotency key as its first record was being deleted: Prediction.DoesNotExist,
        # a 404 (`views.api_exception_handler`).
        return recognize(validated_data["image"], validated_data["mnist_input"], validated_data["source"],
                         photo=validated_data["photo"], strokes=validated_data["strokes"],
                         deadline=self.context.get("deadline"),
                         idempotency_key=validated_data.get("idempotency_key"))

    def update(self, prediction: Prediction, validated_data) -> Prediction:
        redraw(prediction, validated_data["image"], validated_data["mnist_input"], photo=validated_data["photo"],
               strokes=validated_data["strokes"], deadline=self.context.get("deadline"))
        return prediction

    @extend_schema_field(OpenApiTypes.URI)
    def get_image_url(self, prediction: Prediction) -> str:
        """The drawing file: to its owner at a signed URL that expires after DRAWING_URL_MAX_AGE seconds, to
        staff at a plain one their session opens."""
        request = self.context.get("request")
        url = access.drawing_url(prediction.image.name, request)
        return request.build_absolute_uri(url) if request else url


class WholeNumberField(serializers.IntegerField):
    """An integer as JSON writes one, no float and no bool; with `digit_strings`, also a string of ASCII digits, as a
    form sends one. DRF's own took 7.0 and "7", and, through int(), "٣" for 3, "1_0" for 10 and " +3 " for 3."""

    def __init__(self, *, digit_strings: bool = False, **kwargs):
        self.digit_strings = digit_strings
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> int:
        spelt = self.digit_strings and isinstance(data, str) and data.isascii() and data.isdigit()
        if not (is_integer(data) or spelt):
            self.fail("invalid")
        return super().to_internal_value(data)


class FeedbackSerializer(serializers.Serializer):
    # The API takes a form's fields too: "7" is 7 here, as the queue's JSON fields never have it.
    label = WholeNumberField(digit_strings=True, min_value=0, max_value=NOT_A_DIGIT,
                             help_text=f"The digit the drawer meant, or {NOT_A_DIGIT} for \"not a digit\".")
    revision = WholeNumberField(digit_strings=True, min_value=0, required=False,
                                help_text="The revision of the drawing the label is for (its answer's "
                                          "`revision`): refused with a 409 once the drawing has changed.")

    def to_internal_value(self, data):
        refuse_unknown_or_repeated_fields(self, data, "send `label` and, optionally, `revision`")
        return super().to_internal_value(data)
