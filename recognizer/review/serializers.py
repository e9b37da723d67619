"""What the queue's script sends with a label, checked as JSON brings it: DRF's own IntegerField would take "7"
and 7.0 for 7, which the queue refuses."""

from __future__ import annotations

from rest_framework import serializers

from mlcore.validation import is_integer

from .queue import REVISION_UNSHOWN, check_label


class JSONIntegerField(serializers.IntegerField):
    """An integer as JSON writes one: no string, no float, no bool."""

    def to_internal_value(self, data) -> int:
        if not is_integer(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class LabelSerializer(serializers.Serializer):
    label = JSONIntegerField(allow_null=True, error_messages={
        # A body that is not an object with a label must not be taken for an undo.
        "required": "the body must be a JSON object with a label: 0-10, or null to undo",
        "invalid": "label must be an integer 0-10 or null"})
    revision = JSONIntegerField(min_value=0, allow_null=True, default=None,
                                error_messages=dict.fromkeys(("invalid", "min_value"), REVISION_UNSHOWN))

    def validate(self, attrs: dict) -> dict:
        # After both fields' types: a body wrong in its types and its label is told of its types first.
        try:
            check_label(attrs["label"])
        except ValueError as exc:
            raise serializers.ValidationError({"label": str(exc)}) from None
        return attrs
