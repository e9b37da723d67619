"""Review in the admin: look at each drawing, confirm or correct its label, export what was reviewed."""

from __future__ import annotations

import base64
import io

from django.contrib import admin, messages
from django.core.management import CommandError, call_command
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Replace
from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from PIL import Image

from .datasets import reviewed_dataset, to_npz
from .models import ModelVersion, Prediction

THUMBNAIL_SIDE = 56
DRAWING_SIDE = 280
INPUT_SIDE = 224


class ReviewFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("unreviewed", "Unreviewed"), ("reviewed", "Reviewed"), ("wrong", "Reviewed: prediction wrong")]

    def queryset(self, request, queryset):
        if self.value() == "unreviewed":
            return queryset.unreviewed()
        if self.value() == "reviewed":
            return queryset.reviewed()
        if self.value() == "wrong":
            return queryset.wrong()
        return queryset


def input_png_data_uri(prediction: Prediction) -> str:
    """The 28x28 model input as a PNG data URI: 784 bytes need no file or view of their own."""
    buffer = io.BytesIO()
    Image.fromarray(prediction.input_array).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "digit", "confidence_percent", "reported_label", "true_label", "correct",
                    "model_version", "created_at"]
    list_display_links = ["thumbnail"]
    list_editable = ["true_label"]
    list_filter = [ReviewFilter, "digit", "model_version", "created_at"]
    list_select_related = ["model_version"]
    list_per_page = 50
    search_fields = ["id"]
    search_help_text = "Search by prediction id (all or part of it)."
    actions = ["mark_as_correct", "export_dataset"]
    fieldsets = [
        (None, {"fields": ["drawing", "model_input", "probability_bars"]}),
        ("Prediction", {"fields": ["id", "digit", "confidence_percent", "model_version", "source", "created_at",
                                   "reported_label"]}),
        ("Review", {"fields": ["true_label", "reviewed_by", "reviewed_at"]}),
    ]
    readonly_fields = ["drawing", "model_input", "probability_bars", "id", "digit", "confidence_percent",
                       "model_version", "source", "created_at", "reported_label", "reviewed_by", "reviewed_at"]

    def has_add_permission(self, request):
        # Predictions come only from the model; the admin reviews them.
        return False

    def get_search_results(self, request, queryset, search_term):
        # Ids are searched as hex without hyphens: SQLite stores them so, PostgreSQL prints them
        # with hyphens, and a reviewer may paste either form or only a part of one.
        term = search_term.strip().replace("-", "").lower()
        if not term:
            return queryset, False
        hex_id = Replace(Cast("id", output_field=CharField()), Value("-"), Value(""))
        return queryset.annotate(hex_id=hex_id).filter(hex_id__contains=term), False

    @admin.display(description="drawing")
    def thumbnail(self, prediction):
        return format_html('<img src="{}" width="{}" height="{}" alt="drawing predicted as {}" '
                           'style="background:#fff;border:1px solid #ccc">',
                           prediction.image.url, THUMBNAIL_SIDE, THUMBNAIL_SIDE, prediction.digit)

    @admin.display(description="drawing")
    def drawing(self, prediction):
        return format_html('<a href="{0}"><img src="{0}" style="max-width:{1}px;max-height:{1}px;background:#fff;'
                           'border:1px solid #ccc" alt="the drawing as sent"></a>',
                           prediction.image.url, DRAWING_SIDE)

    @admin.display(description="28x28 model input")
    def model_input(self, prediction):
        return format_html('<img src="{0}" width="{1}" height="{1}" alt="the 28x28 input the model saw" '
                           'style="image-rendering:pixelated;border:1px solid #ccc">',
                           input_png_data_uri(prediction), INPUT_SIDE)

    @admin.display(description="probabilities")
    def probability_bars(self, prediction):
        rows = format_html_join(
            "", '<tr><th style="width:1.5em">{}</th><td style="width:240px"><div class="probability-bar" '
                'style="width:{}%;background:{};height:1em"></div></td><td>{}</td></tr>',
            ((digit, f"{probability * 100:.1f}", "#417690" if digit == prediction.digit else "#9bb",
              f"{probability:.1%}") for digit, probability in enumerate(prediction.probabilities)))
        return format_html('<table class="probabilities">{}</table>', rows)

    @admin.display(description="confidence", ordering="confidence")
    def confidence_percent(self, prediction):
        return f"{prediction.confidence:.1%}"

    @admin.display(description="correct", boolean=True)
    def correct(self, prediction):
        return prediction.is_correct

    def save_model(self, request, obj, form, change):
        # Called for the change page and for every row changed in the list alike.
        if "true_label" in form.changed_data:
            reviewed = obj.true_label is not None
            obj.reviewed_by = request.user if reviewed else None
            obj.reviewed_at = timezone.now() if reviewed else None
        super().save_model(request, obj, form, change)

    @admin.action(description="Mark selected predictions as correct", permissions=["change"])
    def mark_as_correct(self, request, queryset):
        count = queryset.update(true_label=F("answered_label"), reviewed_by=request.user, reviewed_at=timezone.now())
        self.message_user(request, f"Marked {count} prediction(s) as correct.", messages.SUCCESS)

    @admin.action(description="Export selected reviewed predictions as a dataset (.npz)", permissions=["view"])
    def export_dataset(self, request, queryset):
        split, ids = reviewed_dataset(queryset)
        skipped = queryset.count() - len(ids)
        if not ids:
            self.message_user(request, "None of the selected predictions has a true label; nothing to export.",
                              messages.ERROR)
            return None
        if skipped:
            self.message_user(request, f"Skipped {skipped} selected prediction(s) without a true label.",
                              messages.WARNING)
        response = HttpResponse(to_npz(split, ids), content_type="application/octet-stream")
        filename = f"reviewed-{timezone.now():%Y%m%d-%H%M%S}-{len(ids)}.npz"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "params", "mnist_accuracy_percent", "reviewed_accuracy_percent", "is_active",
                    "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    actions = ["activate"]
    readonly_fields = ["name", "path", "sha256", "params", "mnist_accuracy", "reviewed_accuracy", "metadata",
                       "is_active", "created_at"]

    def has_add_permission(self, request):
        # A version is a checked checkpoint: `manage.py train` registers them.
        return False

    @admin.display(description="MNIST accuracy", ordering="mnist_accuracy")
    def mnist_accuracy_percent(self, version):
        return f"{version.mnist_accuracy:.2%}"

    @admin.display(description="reviewed accuracy", ordering="reviewed_accuracy")
    def reviewed_accuracy_percent(self, version):
        return "-" if version.reviewed_accuracy is None else f"{version.reviewed_accuracy:.2%}"

    @admin.action(description="Activate the selected model version", permissions=["change"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model version to activate.", messages.ERROR)
            return
        # The same checks as `manage.py activate_model`: a version whose file does not load is refused.
        output = io.StringIO()
        try:
            call_command("activate_model", queryset.get().name, stdout=output)
        except CommandError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, output.getvalue().strip(), messages.SUCCESS)
