"""Review in the admin: look at each drawing, confirm or correct its label, export what was reviewed."""

from __future__ import annotations

import functools
import json
import re
import uuid
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ORDER_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.timezone import localtime
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from mlcore.labels import DIGITS, NOT_A_DIGIT, label_name
from mlcore.render import PEN_WIDTH

from .datasets import quickdraw_lines, reviewed_dataset, to_npz
from . import release
from .models import ModelUnavailable, ModelVersion, Prediction, ReviewLease
from .release import TOLERANCE, ReleaseRefused
from .review.pictures import input_picture
from .review.queue import (LabelledByAnother, LeasedByAnother, held_by_another, locked_for, save_label,
                           why_here, write_label)
from .templatetags.figures import percent


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


class DigitFilter(admin.AllValuesFieldListFilter):
    """The answer's digit, and "not a digit" for none, as the admin says it everywhere else (it read "-").
    Its choices are the digits themselves: the values found by a DISTINCT over every row cost each page
    0.1 to 0.6 s at 300,000 drawings."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.empty_value_display = label_name(NOT_A_DIGIT)
        self.lookup_choices = [*DIGITS, None]


# The drawings a list pages through (NewestPages).
LIST_DEPTH = 20_000


class NewestPages(Paginator):
    """Pages through the newest LIST_DEPTH drawings of a list at most: a page deeper read every row before it
    (on SQLite, for the last of 300,000, sorted them all: 36 s). Older ones are a date filter away."""

    @cached_property
    def count(self) -> int:
        return self.object_list[:LIST_DEPTH].count()


class FilteredByItsSidebar:
    """A changelist that filters only as its sidebar does.

    Django's admin takes any lookup on a model's own fields from the URL: `?id__regex=...` runs a
    regular expression the URL's author wrote over every row (on SQLite in Python, holding a
    worker for as long as the expression likes), and `?created_at__year=` or
    `?created_at__year__gte=` an integer too large for a date was a 500. A link is enough to make a
    signed-in reviewer's browser send any of them.
    """

    # What follows a filtered field in the sidebar's links: a date's range, a value, none, a version's id.
    sidebar_lookups = frozenset({(), ("exact",), ("isnull",), ("gte",), ("lt",), ("id", "exact")})

    def lookup_allowed(self, lookup, value, request):
        names = {item.parameter_name if isinstance(item, type) else item[0] if isinstance(item, tuple) else item
                 for item in self.get_list_filter(request)}
        field, *rest = lookup.split(LOOKUP_SEP)
        if field not in names or tuple(rest) not in self.sidebar_lookups:
            return False
        return super().lookup_allowed(lookup, value, request)


class ActsOnRowsItListed:
    """A changelist whose actions take only ids of its rows: Django filters the rows by the ids a form
    sent as they come, and one no id could be made of (`_selected_action=nope`) was a 500."""

    def response_action(self, request, queryset):
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                self.model._meta.pk.to_python(value)
        except ValidationError:
            self.message_user(request, f"The items selected are no {self.model._meta.verbose_name_plural}: select "
                                       "them again. No items have been changed.", messages.WARNING)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


IN_ANOTHER_REVIEWERS_HANDS = "another reviewer has it open in the review queue; try again once they are done"
# What may be the start of a prediction's id, written as hex without hyphens.
HEX_ID_PART = re.compile(r"[0-9a-f]{1,32}")
# Marked one by one as a reviewer's labels are, a few milliseconds each: a bound on one request's work.
MARK_AT_ONCE = 1000

# The name suffixes of the hidden inputs that carry a label, and its drawing's revision, as the page showed them.
AS_LOADED = "-as-loaded"
REVISION_AS_LOADED = "-revision-as-loaded"
# The name prefix of the hidden input that carries a drawing's revision as the page of "mark as correct" showed it.
CONFIRMED_REVISION = "revision-"
# The hidden id input of a row of the list's form set.
CHANGELIST_ROW_ID = re.compile(r"(form-\d+)-id")


class LabelAsLoaded(forms.Select):
    """The label's select, and beside it the label and the drawing's revision as the page showed them."""

    revision = None
    # The label the page first showed, where the form is a page sent back (None: the form's own value).
    shown = None

    def render(self, name, value, attrs=None, renderer=None):
        # A page sent back and shown again with its errors carries the label its reviewer first saw, not
        # the one they chose: else it claimed their own label had been taken back since.
        label = value if self.shown is None else self.shown
        shown = format_html('<input type="hidden" name="{}" value="{}"><input type="hidden" name="{}" value="{}">',
                            name + AS_LOADED, "" if label is None else label,
                            name + REVISION_AS_LOADED, "" if self.revision is None else self.revision)
        return super().render(name, value, attrs, renderer) + shown


class ReviewForm(forms.ModelForm):
    """A label saved from a page shown before someone else labelled the drawing (in the queue, or
    on another page) would put the old label back over theirs, and the list sends every row's
    label whether changed or not: refused, with who labelled it meanwhile. So is a label given to a
    drawing its drawer changed after the page showed it, and one given to a drawing another reviewer
    has open in the review queue, which is theirs to label (`reviewer`: who labels with this form)."""

    reviewer = None
    # A row of the list: refused, it is left as it is and said, and the page's other rows are saved
    # (`PredictionAdmin.get_changelist_formset`); raised as the form's error, it refused the whole page,
    # and it refused it again at each Save until its reviewer found it and put its label back.
    listed = False
    refused = None

    class Meta:
        model = Prediction
        fields = ["true_label"]
        widgets = {"true_label": LabelAsLoaded}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Staff who may only view predictions get the label read-only: no field, nothing to send back.
        if "true_label" in self.fields:
            widget = self.fields["true_label"].widget
            widget.revision = self.instance.revision
            widget.shown = self.label_shown
            index = (self.prefix or "").rsplit("-", 1)[-1]
            if index.isdigit():
                # A row of the list, whose select has no label of its own: a screen reader said "combo box"
                # fifty times. Named by its place and what the row shows: two drawings answered alike in one
                # minute are common in a backlog. (The form set's blank form, "form-__prefix__", is no row.)
                row = int(index) + 1
                answered = date_format(localtime(self.instance.created_at), "DATETIME_FORMAT")
                answer = label_name(NOT_A_DIGIT if self.instance.digit is None else self.instance.digit)
                widget.attrs["aria-label"] = f"True label, row {row}: the drawing answered {answer}, {answered}"

    @property
    def label_shown(self) -> str | None:
        """The label as the page showed it, where the form is a page sent back and says it."""
        return self.data.get(self.add_prefix("true_label") + AS_LOADED) if self.is_bound else None

    @cached_property
    def changed_data(self) -> list[str]:
        # The list sends every row's label: a row its reviewer left as the page showed it is unchanged,
        # whoever labelled the drawing since (it refused the whole page, every correction on it lost).
        changed = super().changed_data
        if "true_label" in changed and self.label_shown == self.data.get(self.add_prefix("true_label"), ""):
            return [name for name in changed if name != "true_label"]
        return changed

    def clean(self):
        cleaned = super().clean()
        if ("true_label" not in cleaned or cleaned["true_label"] == self.instance.true_label
                or "true_label" not in self.changed_data):
            return cleaned
        changed = changed_since_shown(self.instance, self.data.get(self.add_prefix("true_label") + AS_LOADED),
                                      self.data.get(self.add_prefix("true_label") + REVISION_AS_LOADED))
        if self.reviewer is not None and held_by_another(
                ReviewLease.objects.filter(prediction_id=self.instance.pk).first(), self.reviewer, timezone.now()):
            changed = IN_ANOTHER_REVIEWERS_HANDS
        if changed and self.listed:
            self.refused = changed
        elif changed:
            raise forms.ValidationError(changed)
        return cleaned

    def has_changed(self) -> bool:
        return self.refused is None and super().has_changed()


def changed_since_shown(prediction: Prediction, label_shown: str | None, revision_shown: str | None) -> str | None:
    """Why a label given on a page that showed the drawing at `revision_shown` with `label_shown` (as the
    page's hidden inputs carry them; None: not said) must not be saved over `prediction` as it is now."""
    if revision_shown not in (None, str(prediction.revision)):
        return "its drawer changed the drawing after this page was shown; reload the page"
    now = prediction.true_label
    if label_shown not in (None, "" if now is None else str(now)):
        meanwhile = ("its label was taken back" if now is None
                     else f"{prediction.reviewed_by or 'someone'} labelled it {label_name(now)}")
        return f"{meanwhile} after this page was shown; reload the page"
    return None


def labelled_by(form_class: type[ReviewForm], reviewer, listed: bool = False) -> type[ReviewForm]:
    """The admin's form class for this request, its forms knowing who labels with them and whether they are
    the list's rows."""
    return type(form_class.__name__, (form_class,), {"reviewer": reviewer, "listed": listed})


def revisions_shown(data) -> dict[str, int]:
    """Drawing id -> the revision the list showed it at, from a list page's posted rows."""
    shown = {}
    for key, pk in data.items():
        row = CHANGELIST_ROW_ID.fullmatch(key)
        revision = data.get(f"{row[1]}-true_label{REVISION_AS_LOADED}", "") if row else ""
        try:
            shown[str(uuid.UUID(pk))] = int(revision)
        except ValueError:
            continue  # not a row the page showed with its revision
    return shown


def revisions_confirmed(data) -> dict[str, int]:
    """Drawing id -> the revision the page of "mark as correct" showed it at, for the drawings ticked there."""
    ticked = set(data.getlist(helpers.ACTION_CHECKBOX_NAME))
    confirmed = {}
    for key, revision in data.items():
        pk = key.removeprefix(CONFIRMED_REVISION)
        if key.startswith(CONFIRMED_REVISION) and pk in ticked:
            try:
                confirmed[str(uuid.UUID(pk))] = int(revision)
            except ValueError:
                continue  # no drawing that page showed
    return confirmed


def widget(name: str, **context) -> str:
    """One of the small templates in templates/admin/recognizer/widgets/, like Django's own widgets."""
    return render_to_string(f"admin/recognizer/widgets/{name}.html", context)


class ReviewerFilter(admin.RelatedFieldListFilter):
    """Who gave the label: the staff who may label, and anyone whose labels stand though they may no longer
    (an index look-up a user, not a read of the drawings); the unreviewed are the review filter's."""

    include_empty_choice = False

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = "reviewer"

    def field_choices(self, field, request, model_admin):
        may_label = (Q(is_superuser=True) | Q(user_permissions__codename="change_prediction")
                     | Q(groups__permissions__codename="change_prediction"))
        users = field.related_model.objects
        labelled = Exists(Prediction.objects.filter(reviewed_by=OuterRef("pk")))
        reviewers = users.filter(Q(pk__in=users.filter(may_label, is_staff=True, is_active=True).values("pk"))
                                 | Q(labelled))
        return [(reviewer.pk, str(reviewer)) for reviewer in reviewers.order_by("username")]


@admin.register(Prediction)
class PredictionAdmin(ActsOnRowsItListed, FilteredByItsSidebar, admin.ModelAdmin):
    list_display = ["thumbnail", "answer", "confidence_percent", "reported_label", "true_label", "correct",
                    "model_version_name", "created_at"]
    list_display_links = ["thumbnail"]
    list_editable = ["true_label"]
    form = ReviewForm
    list_filter = [ReviewFilter, ("digit", DigitFilter), "true_label", ("reviewed_by", ReviewerFilter), "model_version",
                   "created_at"]
    list_select_related = ["model_version"]
    list_per_page = 50
    paginator = NewestPages
    # At 300,000 drawings, sorting by another column (SQLite sorts every row) held a worker for up to 48 s,
    # and counting every row beside the filtered ones cost each page a scan.
    sortable_by = ["created_at"]
    show_full_result_count = False
    search_fields = ["id"]
    search_help_text = "Search by prediction id (all of it or its start)."
    actions = ["mark_as_correct", "export_dataset", "export_strokes"]
    fieldsets = [
        (None, {"fields": ["drawing", "model_input", "probability_bars"]}),
        ("Prediction", {"fields": ["id", "answer", "confidence_percent", "model_version", "source", "created_at",
                                   "reported_label"]}),
        ("Review", {"fields": ["true_label", "reviewed_by", "reviewed_at"]}),
    ]
    readonly_fields = ["drawing", "model_input", "probability_bars", "id", "answer", "confidence_percent",
                       "model_version", "source", "created_at", "reported_label", "reviewed_by", "reviewed_at"]

    class Media:
        css = {"all": ["recognizer/review/review.css"]}

    def has_add_permission(self, request):
        # Predictions come only from the model; the admin reviews them.
        return False

    def changelist_view(self, request, extra_context=None):
        # Newest first is the only order (`sortable_by` hides the others' links); a crafted ?o= sorted by
        # any column all the same.
        if ORDER_VAR in request.GET:
            request.GET = request.GET.copy()
            del request.GET[ORDER_VAR]
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        # Only the change page shows a drawing's strokes (up to 4,000 points of JSON: fifty of them read and
        # parsed cost the list seconds), its input and its probabilities.
        return super().get_queryset(request).defer("strokes", "mnist_input", "probabilities")

    def history_view(self, request, object_id, extra_context=None):
        # Django looks the drawing up before asking for the permission: a missing one redirected and an
        # existing one was refused, which told a staff member without the permission which ids exist.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def get_search_results(self, request, queryset, search_term):
        # An id, with or without its hyphens, or its start: the ids from it to the same start followed by
        # all f's, a range of the primary key. Any part of one was a scan of every row (a second at 300,000).
        term = search_term.strip().replace("-", "").lower()
        if not term:
            return queryset, False
        if not HEX_ID_PART.fullmatch(term):
            return queryset.none(), False
        return queryset.filter(pk__gte=uuid.UUID(term.ljust(32, "0")), pk__lte=uuid.UUID(term.ljust(32, "f"))), False

    @admin.display(description="drawing")
    def thumbnail(self, prediction):
        return widget("thumbnail", prediction=prediction)

    @admin.display(description="drawing")
    def drawing(self, prediction):
        # The strokes, where the drawing has them, are replayed beside it by static/recognizer/review/replay.js.
        return widget("drawing", prediction=prediction, strokes_json=json.dumps(prediction.strokes),
                      pen_width=PEN_WIDTH)

    @admin.display(description="28x28 model input")
    def model_input(self, prediction):
        return widget("model_input", input_uri=input_picture(prediction))

    @admin.display(description="probabilities")
    def probability_bars(self, prediction):
        rows = [{"digit": digit, "percent": f"{probability * 100:.1f}", "text": f"{percent(probability)}%",
                 "answer": digit == prediction.digit} for digit, probability in enumerate(prediction.probabilities)]
        return widget("probabilities", rows=rows)

    @admin.display(description="digit")
    def answer(self, prediction):
        return label_name(prediction.answered_label)

    @admin.display(description="confidence")
    def confidence_percent(self, prediction):
        return f"{percent(prediction.confidence)}%"

    @admin.display(description="model version")
    def model_version_name(self, prediction):
        # Wrapped where the list is short of room, a name broke inside a word ("mnist_c", "nn_v4x2").
        parts = re.split("(?<=_)", prediction.model_version.name)
        return format_html_join(mark_safe("<wbr>"), "{}", ([part] for part in parts))

    @admin.display(description="correct", boolean=True)
    def correct(self, prediction):
        return prediction.is_correct

    def get_form(self, request, obj=None, **kwargs):
        return labelled_by(super().get_form(request, obj, **kwargs), request.user)

    def get_changelist_form(self, request, **kwargs):
        return labelled_by(super().get_changelist_form(request, form=ReviewForm, **kwargs), request.user, listed=True)

    def get_changelist_formset(self, request, **kwargs):
        rows = super().get_changelist_formset(request, **kwargs)
        refused = functools.partial(self.message_user, request, level=messages.ERROR)

        class RowsSavedApart(rows):
            """The list's rows: each one refused is said, left unchanged, and the others are saved."""

            @cached_property
            def forms(self):
                # A row whose drawing was deleted since the page was shown has no drawing to label: left out.
                # Kept, its id failed the whole page with an error it did not show, at every Save, and the page
                # shown again put each posted label beside the next row's drawing.
                every = super().forms
                self.deleted_rows = [form for form in every if form.instance._state.adding]
                return [form for form in every if not form.instance._state.adding]

            def full_clean(self):
                # Once: the form set's own clean asks is_valid again (for the rows to delete), and each
                # refusal was said twice.
                super().full_clean()
                for form in self.deleted_rows:
                    if "true_label" in form.changed_data:
                        refused(f"The label of drawing {form['id'].value()} was not saved: it was deleted.")
                for form in self.forms:
                    if form.refused is not None:
                        refused(f"The label of {form.instance} was not saved: {form.refused}.")

        return RowsSavedApart

    def save_model(self, request, obj, form, change):
        # Called for the change page and for every row changed in the list alike. The label is all the
        # admin changes, and only its fields are written, the row locked and checked again: the rest of
        # `obj` is the row as the page's request read it, and saved whole it would undo a drawer's update
        # committed since (its new file left with no row) or put an old label back over a newer one.
        if "true_label" not in form.changed_data:
            return
        label, initial = obj.true_label, form.initial.get("true_label")
        now = timezone.now()
        with transaction.atomic():
            # Locked with its lease, as the queue saves a label: a drawing another reviewer has open in the
            # queue is theirs to label, on any page.
            try:
                current = locked_for(obj.pk, request.user, now)
                changed = changed_since_shown(current, "" if initial is None else str(initial), str(obj.revision))
            except Prediction.DoesNotExist:
                changed = "it was deleted"
            except LeasedByAnother:
                changed = IN_ANOTHER_REVIEWERS_HANDS
            if changed:
                self.message_user(request, f"The label of {obj} was not saved: {changed}.", messages.ERROR)
                return
            # The drawing's label, never a second opinion owed on it: this page shows the label it replaces, and a
            # second opinion is given blind.
            write_label(current, request.user, label, now)
            obj.reviewed_by, obj.reviewed_at = current.reviewed_by, current.reviewed_at

    def delete_model(self, request, obj):
        # As the API deletes: the file removed is the one the row holds when deleted, which a drawer's
        # update may have replaced since this page's request read the row.
        try:
            obj.discard()
        except Prediction.DoesNotExist:
            pass

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            # Locked before Django collects the rows, so the files it removes are those they hold.
            list(queryset.select_for_update().values_list("pk", flat=True))
            queryset.delete()

    @admin.action(description="Mark selected predictions as correct…", permissions=["change"])
    def mark_as_correct(self, request, queryset):
        """Each drawing's answer given as its label through the queue's save_label, as a reviewer's own:
        a reviewer's correction is not overwritten, nor a drawing in another reviewer's hands labelled,
        and a first label may draw a second opinion.

        Asked first on a page that shows each drawing to be marked, the disputed and doubtful first and
        unticked: marked unseen, a confident wrong answer became a training label, and left the filter of
        wrong answers where a reviewer would look for it. Only the version of a drawing a page showed is
        confirmed; of those selected beyond the list's page, only drawings left unchanged
        REVIEW_SETTLE_SECONDS."""
        confirmed = request.POST.get("post") == "yes"
        selected, unreviewed = queryset.count(), queryset.unreviewed()
        shown = revisions_confirmed(request.POST) if confirmed else revisions_shown(request.POST)
        if confirmed:
            candidates = unreviewed.filter(pk__in=list(shown))
        else:
            settled = timezone.now() - timedelta(seconds=settings.REVIEW_SETTLE_SECONDS)
            candidates = unreviewed.filter(Q(pk__in=list(shown)) | Q(updated_at__lt=settled))
        candidates = list(candidates.select_related("model_version").order_by("tier", "-created_at", "pk")
                          [:MARK_AT_ONCE + 1])
        if len(candidates) > MARK_AT_ONCE:
            self.message_user(request, f"At most {MARK_AT_ONCE:,} predictions are marked at once; select fewer.",
                              messages.ERROR)
            return None
        reviewed = selected - unreviewed.count()
        if not confirmed:
            candidates = [prediction for prediction in candidates
                          if shown.get(str(prediction.pk), prediction.revision) == prediction.revision]
            return self.marking_page(request, candidates, reviewed, selected - reviewed - len(candidates))
        marked, taken = 0, 0
        for prediction in candidates:
            try:
                save_label(prediction.pk, request.user, prediction.answered_label, revision=shown[str(prediction.pk)])
                marked += 1
            except (Prediction.Redrawn, ValueError):
                # ValueError: a revision no page showed, still to come (`queue.REVISION_UNSHOWN`), made up.
                pass
            except (LeasedByAnother, LabelledByAnother, Prediction.DoesNotExist):
                taken += 1
        changed = selected - reviewed - marked - taken
        self.message_user(request, f"Marked {marked} prediction(s) as correct."
                          + (f" {reviewed} already reviewed kept their label." if reviewed else "")
                          + (f" {changed} changed by their drawer since the page was shown were left: "
                             "reload the page to see them." if changed else "")
                          + (f" {taken} in another reviewer's hands {'was' if taken == 1 else 'were'} left."
                             if taken else ""), messages.SUCCESS)
        return None

    def marking_page(self, request, candidates: list[Prediction], reviewed: int, left: int) -> TemplateResponse:
        """The drawings "mark as correct" would label, each with the label it would get, to tick or untick."""
        rows = [{"prediction": prediction, "answer": label_name(prediction.answered_label),
                 "confidence": percent(prediction.confidence), "why": why_here(prediction),
                 "reported": None if prediction.reported_label is None else label_name(prediction.reported_label),
                 "ticked": prediction.tier == Prediction.Tier.CONFIDENT} for prediction in candidates]
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "rows": rows,
                   "title": "Mark these predictions as correct?", "reviewed": reviewed, "left": left,
                   "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME}
        return TemplateResponse(request, "admin/recognizer/prediction/mark_as_correct.html", context)

    @admin.action(description="Export selected reviewed predictions as a dataset (.npz)", permissions=["view"])
    def export_dataset(self, request, queryset):
        # The file is built in the web worker's memory (about 1 KB a row); bigger exports belong offline.
        if self.too_many_to_export(request, queryset):
            return None
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

    @admin.action(description="Export the strokes of selected reviewed drawings (Quick, Draw! .ndjson)",
                  permissions=["view"])
    def export_strokes(self, request, queryset):
        # Streamed, so memory stays bounded, but a worker is held for as long as the rows take.
        if self.too_many_to_export(request, queryset):
            return None
        # Said, as the dataset's export says it: an empty file came down without a word.
        if not queryset.reviewed().filter(strokes__isnull=False).exists():
            self.message_user(request, "None of the selected predictions is a reviewed drawing with strokes; "
                                       "nothing to export.", messages.ERROR)
            return None
        response = StreamingHttpResponse(quickdraw_lines(queryset), content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="reviewed-strokes-{timezone.now():%Y%m%d-%H%M%S}.ndjson"'
        return response

    def too_many_to_export(self, request, queryset) -> bool:
        """Whether more reviewed drawings are selected than the admin exports at once (told so)."""
        reviewed = queryset.reviewed().count()
        if reviewed <= settings.ADMIN_EXPORT_MAX_ROWS:
            return False
        self.message_user(request, f"{reviewed:,} reviewed predictions are selected; the admin exports at most "
                                   f"{settings.ADMIN_EXPORT_MAX_ROWS:,}. Use `manage.py export_reviewed --out "
                                   f"FILE` for larger sets.", messages.ERROR)
        return True


@admin.register(ModelVersion)
class ModelVersionAdmin(ActsOnRowsItListed, FilteredByItsSidebar, admin.ModelAdmin):
    list_display = ["name", "params", "mnist_accuracy_percent", "reviewed_accuracy_percent", "is_active",
                    "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    actions = ["activate"]
    readonly_fields = ["name", "path", "sha256", "params", "mnist_accuracy", "reviewed_accuracy", "metadata",
                       "is_active", "created_at", "forced_by", "forced_at", "forced_comparison"]

    def has_add_permission(self, request):
        # A version is a checked checkpoint: `manage.py train` registers them.
        return False

    def has_delete_permission(self, request, obj=None):
        # Without an active version every drawing is answered 503: another is activated, not this deleted.
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_active)

    @admin.display(description="MNIST accuracy", ordering="mnist_accuracy")
    def mnist_accuracy_percent(self, version):
        return f"{version.mnist_accuracy:.2%}"

    @admin.display(description="reviewed accuracy", ordering="reviewed_accuracy")
    def reviewed_accuracy_percent(self, version):
        return "-" if version.reviewed_accuracy is None else f"{version.reviewed_accuracy:.2%}"

    @admin.action(description="Activate the selected model version (after the release gate)", permissions=["change"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model version to activate.", messages.ERROR)
            return None
        version = queryset.get()
        if version.is_active:
            self.message_user(request, f"{version.name} is already the active model version.", messages.INFO)
            return None
        previous = ModelVersion.objects.active()
        force = request.POST.get("force") == "1"
        try:
            comparison = release.activate(version, force=force, by=request.user.get_username())
        except ReleaseRefused as exc:
            return self.gate_page(request, version, previous, exc.comparison, refused=str(exc))
        except ModelUnavailable as exc:
            self.message_user(request, f"Refusing to activate {version.name}: {exc}", messages.ERROR)
            return None
        forced = bool(comparison and comparison.regressions)
        skipped = release.unguarded(previous, comparison)
        self.message_user(request, f"Activated {version.name}" + (
            f", forced past the release gate by {version.forced_by}" if forced else "")
            + "; workers switch to it on their next request."
            + (f" {skipped[0].upper()}{skipped[1:]}." if skipped else ""),
            messages.WARNING if forced or skipped else messages.SUCCESS)
        if comparison is None:
            return None
        return self.gate_page(request, version, previous, comparison)

    def gate_page(self, request, version, previous, comparison, refused: str = ""):
        """The release gate's comparison, with a way to force a refused version (recorded on it)."""
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": f"Release gate: {version.name} against {previous.name}", "version": version,
                   "comparison": comparison, "refused": refused, "tolerance": TOLERANCE}
        return TemplateResponse(request, "admin/recognizer/modelversion/gate.html", context)
