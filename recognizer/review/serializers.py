"""What the queue's script sends with a label, checked as JSON brings it: "7" and 7.0 are no label."""

from __future__ import annotations

from rest_framework import serializers

from ..serializers import WholeNumberField
from .queue import REVISION_UNSHOWN, check_label


class LabelSerializer(serializers.Serializer):
    label = WholeNumberField(allow_null=True, error_messages={
        # A body that is not an object with a label must not be taken for an undo.
        "required": "the body must be a JSON object with a label: 0-10, or null to undo",
        "invalid": "label must be an integer 0-10 or null"})
    revision = WholeNumberField(min_value=0, allow_null=True, default=None,
                                 error_messages=dict.fromkeys(("invalid", "min_value"), REVISION_UNSHOWN))

    def validate(self, attrs: dict) -> dict:
        # After both fields' types: a body wrong in its types and its label is told of its types first.
        try:
            check_label(attrs["label"])
        except ValueError as exc:
            raise serializers.ValidationError({"label": str(exc)}) from None
        return attrs
