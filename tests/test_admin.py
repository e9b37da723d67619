"""Review in the Django admin, as a staff reviewer does it: real drawings, real model, real database."""

import base64
import html
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from PIL import Image

from mlcore.labels import NOT_A_DIGIT
from recognizer import admin as admin_module
from recognizer.models import ModelVersion, Prediction, ReviewLease, SecondOpinion
from recognizer.review import queue
from recognizer.templatetags.figures import percent

from .drawings import png
from .reviewing import PASSWORD, REVIEWER_PERMISSIONS, make_user, record_drawing, redraw_as
from .test_review_queue import query_plan

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/recognizer/prediction/"
VERSIONS = "/admin/recognizer/modelversion/"


@pytest.fixture
def reviewer(django_user_model):
    return make_user(django_user_model, "reviewer", staff=True, permissions=REVIEWER_PERMISSIONS)


@pytest.fixture
def reviewer_client(client, reviewer):
    client.login(username=reviewer.username, password=PASSWORD)
    return client


@pytest.fixture
def drawings(mnist_test):
    """Six predictions of the first six MNIST test digits, with those digits' true labels beside them."""
    return [(record_drawing(mnist_test.images[i]), int(mnist_test.labels[i])) for i in range(6)]


def listed_ids(response) -> list:
    assert response.status_code == 200, response.content[:500]
    return [row.pk for row in response.context["cl"].result_list]


def test_reviewer_sees_thumbnails_and_the_review_columns(reviewer_client, mnist_test):
    posted = []
    for i in range(3):
        upload = io.BytesIO(png(mnist_test.images[i]))
        upload.name = "drawing.png"
        response = reviewer_client.post("/api/predictions/", {"image": upload, "source": "upload"})
        assert response.status_code == 201, response.content
        posted.append(Prediction.objects.get(pk=response.json()["id"]))
    # Short of certain, never "100.0%".
    Prediction.objects.filter(pk=posted[0].pk).update(confidence=0.9996)
    posted[0].refresh_from_db()

    response = reviewer_client.get(CHANGELIST)
    page = response.content.decode()
    assert sorted(listed_ids(response)) == sorted(p.pk for p in posted)
    assert "&gt; 99.9%" in page and "100.0%" not in page
    for prediction in posted:
        assert f'<img src="{prediction.image.url}"' in page
        assert html.escape(f"{percent(prediction.confidence)}%") in page
    for column in ("column-answer", "column-reported_label", "column-true_label", "column-correct",
                   "column-created_at", "column-model_version_name"):
        assert column in page
    # true_label is editable in the list: one input per row, named for a screen reader by what the row shows.
    for index, row in enumerate(response.context["cl"].result_list):
        shown = date_format(localtime(row.created_at), "DATETIME_FORMAT")
        assert f'<select name="form-{index}-true_label" aria-label="True label, row {index + 1}: the drawing ' \
               f'answered {row.digit}, {shown}"' in html.unescape(page)
    change = reviewer_client.get(f"{CHANGELIST}{posted[0].pk}/change/").content.decode()
    assert re.search(r'<label[^>]* for="id_true_label"', change) and "True label, row" not in change


def test_a_not_a_digit_answer_is_said_in_words_in_the_list_and_its_filter(reviewer_client, drawings):
    """The list's digit column and its "By digit" filter showed "-" for it, where the admin says "not a
    digit" everywhere else."""
    (drawing, _), *_ = drawings
    Prediction.objects.filter(pk=drawing.pk).update(digit=None)
    response = reviewer_client.get(CHANGELIST)
    page = html.unescape(response.content.decode())
    assert '<td class="field-answer">not a digit</td>' in page
    assert re.search(r'<a href="\?digit__isnull=True">\s*not a digit\s*</a>', page)
    assert listed_ids(reviewer_client.get(CHANGELIST, {"digit__isnull": "True"})) == [drawing.pk]
    change = html.unescape(reviewer_client.get(f"{CHANGELIST}{drawing.pk}/change/").content.decode())
    assert re.search(r'<div class="readonly">not a digit</div>', change)


def test_each_filter_and_the_id_search(reviewer_client, drawings, reviewer):
    (unreviewed, _), (right, right_label), (wrong, right_of_wrong), *rest = drawings
    Prediction.objects.filter(pk=right.pk).update(true_label=right.digit)
    Prediction.objects.filter(pk=wrong.pk).update(true_label=(wrong.digit + 1) % 10)
    old = rest[0][0]
    Prediction.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    everything = set(Prediction.objects.values_list("pk", flat=True))

    assert set(listed_ids(reviewer_client.get(CHANGELIST, {"review": "unreviewed"}))) == everything - {right.pk, wrong.pk}
    assert set(listed_ids(reviewer_client.get(CHANGELIST, {"review": "reviewed"}))) == {right.pk, wrong.pk}
    assert listed_ids(reviewer_client.get(CHANGELIST, {"review": "wrong"})) == [wrong.pk]

    digit = unreviewed.digit
    expected = {p.pk for p, _ in drawings if p.digit == digit}
    assert set(listed_ids(reviewer_client.get(CHANGELIST, {"digit": digit}))) == expected

    other = ModelVersion.objects.register(ModelVersion.objects.get(is_active=True).file_path, name="other")
    Prediction.objects.filter(pk=right.pk).update(model_version=other)
    assert listed_ids(reviewer_client.get(CHANGELIST, {"model_version__id__exact": other.pk})) == [right.pk]

    response = reviewer_client.get(CHANGELIST)
    date_filter = next(spec for spec in response.context["cl"].filter_specs if spec.title == "created at")
    past_week = next(choice for choice in date_filter.choices(response.context["cl"])
                     if choice["display"] == "Past 7 days")
    assert set(listed_ids(reviewer_client.get(CHANGELIST + past_week["query_string"]))) == everything - {old.pk}

    assert listed_ids(reviewer_client.get(CHANGELIST, {"q": wrong.pk.hex[:10]})) == [wrong.pk]
    assert listed_ids(reviewer_client.get(CHANGELIST, {"q": str(wrong.pk)})) == [wrong.pk]
    assert listed_ids(reviewer_client.get(CHANGELIST, {"q": str(wrong.pk).upper()})) == [wrong.pk]
    # SQLite refused a LIKE pattern this long: a 500.
    for nothing in ("a" * 50_001, "%", "zz", str(wrong.pk) + "0"):
        assert listed_ids(reviewer_client.get(CHANGELIST, {"q": nothing})) == []


def test_the_list_filters_by_the_label_given_and_who_gave_it(reviewer_client, reviewer, django_user_model, drawings):
    """To look over what reviewers called "not a digit" before a retraining, or one reviewer's labels."""
    other = make_user(django_user_model, "bea", staff=True, permissions=REVIEWER_PERMISSIONS)
    drawer = make_user(django_user_model, "drawer", staff=False)
    (first, _), (second, _), (third, _), *_ = drawings
    Prediction.objects.filter(pk=first.pk).update(true_label=NOT_A_DIGIT, reviewed_by=reviewer)
    Prediction.objects.filter(pk=second.pk).update(true_label=NOT_A_DIGIT, reviewed_by=other)
    Prediction.objects.filter(pk=third.pk).update(true_label=3, reviewed_by=reviewer)
    assert set(listed_ids(reviewer_client.get(CHANGELIST, {"true_label__exact": NOT_A_DIGIT}))) == {first.pk, second.pk}
    assert f"?reviewed_by__id__exact={other.pk}" in html.unescape(reviewer_client.get(CHANGELIST).content.decode())
    assert set(listed_ids(reviewer_client.get(CHANGELIST, {"reviewed_by__id__exact": reviewer.pk}))) == {
        first.pk, third.pk}
    viewer = make_user(django_user_model, "viewer", staff=True, permissions=("view_prediction",))
    page = html.unescape(reviewer_client.get(CHANGELIST).content.decode())
    assert re.search(r'<a href="\?true_label__exact=10">\s*not a digit\s*</a>', page)
    # Those who may label, by name: not a drawer's account, nor staff who may only look.
    assert f"?reviewed_by__id__exact={reviewer.pk}" in page
    assert not any(f"?reviewed_by__id__exact={user.pk}" in page for user in (drawer, viewer))
    assert "By reviewer" in page and "reviewed_by__isnull" not in page
    # Nor one whose account is closed, who never labelled.
    gone = make_user(django_user_model, "gone", staff=True, permissions=REVIEWER_PERMISSIONS)
    gone.is_active = False
    gone.save()
    assert f"?reviewed_by__id__exact={gone.pk}" not in html.unescape(reviewer_client.get(CHANGELIST).content.decode())
    # One who labelled and may no longer: their labels stand, and stay found by name.
    other.is_active = other.is_staff = False
    other.save()
    other.user_permissions.clear()
    page = html.unescape(reviewer_client.get(CHANGELIST).content.decode())
    assert f"?reviewed_by__id__exact={other.pk}" in page
    assert listed_ids(reviewer_client.get(CHANGELIST, {"reviewed_by__id__exact": other.pk})) == [second.pk]


@pytest.mark.parametrize("query", [
    {"id__regex": "^[0-9a-f]"}, {"digit__regex": "^7$"}, {"created_at__year": "9" * 20}, {"reported_label": "3"},
    {"model_version__name__startswith": "mnist"}, {"created_at__year__exact": "99999999"},
    {"created_at__year__gte": "99999999"}, {"created_at__iso_year__lt": "0"}, {"created_at__hour__gte": "3"},
])
def test_the_changelist_filters_only_as_its_sidebar_does(reviewer_client, drawings, query):
    """A lookup in the URL runs in the database: a regular expression of the URL author's choosing
    could hold a worker for as long as it likes."""
    response = reviewer_client.get(CHANGELIST, query)
    assert response.status_code == 400


def test_the_versions_list_filters_only_as_its_sidebar_does(reviewer_client):
    assert reviewer_client.get(VERSIONS, {"name__regex": "(a+)+$"}).status_code == 400
    assert reviewer_client.get(VERSIONS, {"is_active__exact": "1"}).status_code == 200


def shown_labels(response) -> dict[str, str]:
    """The labels as the page showed them, which the browser sends back beside the selects."""
    return dict(re.findall(r'<input type="hidden" name="([\w-]+)-as-loaded" value="(\d*)">', response.content.decode()))


def changelist_form_data(response, labels: dict) -> dict:
    """The list_editable formset as the browser submits it, with new true labels for some rows."""
    rows = response.context["cl"].result_list
    shown = shown_labels(response)
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(len(rows)),
            "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000", "_save": "Save"}
    for index, row in enumerate(rows):
        data[f"form-{index}-id"] = str(row.pk)
        label = labels.get(row.pk, row.true_label)
        data[f"form-{index}-true_label"] = "" if label is None else str(label)
        data[f"form-{index}-true_label-as-loaded"] = shown[f"form-{index}-true_label"]
        data[f"form-{index}-true_label-revision-as-loaded"] = shown[f"form-{index}-true_label-revision"]
    return data


def test_labelling_from_the_list_records_who_reviewed_and_when(reviewer_client, reviewer, drawings):
    (first, first_label), (second, second_label), *_ = drawings
    page = reviewer_client.get(CHANGELIST)
    before = timezone.now()
    response = reviewer_client.post(CHANGELIST, changelist_form_data(page, {first.pk: first_label,
                                                                             second.pk: second_label}))
    assert response.status_code == 302, response.content[:2000]

    for prediction, label in ((first, first_label), (second, second_label)):
        prediction.refresh_from_db()
        assert prediction.true_label == label
        assert prediction.reviewed_by == reviewer
        assert before <= prediction.reviewed_at <= timezone.now()
    untouched = Prediction.objects.exclude(pk__in=[first.pk, second.pk])
    assert not untouched.filter(reviewed_by__isnull=False).exists()

    response = reviewer_client.post(CHANGELIST, changelist_form_data(reviewer_client.get(CHANGELIST),
                                                                     {first.pk: None}))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.true_label is None and first.reviewed_by is None and first.reviewed_at is None


def test_a_label_given_after_the_list_was_shown_is_not_put_back(reviewer_client, reviewer, drawings,
                                                                 django_user_model):
    """The list sends every row's label, changed or not: a row someone labelled in the queue after
    the list was shown would have lost that label, with no word to anyone. Left as the page showed
    it, the row keeps the newer label; changed, it is refused and said, and the page's other rows are
    saved: the whole page was refused, every correction on it lost, and refused again at each Save until
    its reviewer found the row and put its label back."""
    (first, first_label), (second, _), (third, third_label), *_ = drawings
    page = reviewer_client.get(CHANGELIST)
    grace = make_user(django_user_model, "grace", staff=True, permissions=REVIEWER_PERMISSIONS)
    queue.save_label(second.pk, grace, 7)
    queue.save_label(third.pk, grace, 10)
    response = reviewer_client.post(CHANGELIST, changelist_form_data(page, {first.pk: first_label,
                                                                            third.pk: third_label}), follow=True)
    text = html.unescape(response.content.decode())
    assert f"The label of {third} was not saved: grace labelled it not a digit after this page was shown; " \
           "reload the page." in text
    assert "grace labelled it 7" not in text and "1 prediction was changed successfully." in text
    first.refresh_from_db(), second.refresh_from_db(), third.refresh_from_db()
    assert (first.true_label, first.reviewed_by) == (first_label, reviewer)
    assert (second.true_label, second.reviewed_by) == (7, grace)
    assert (third.true_label, third.reviewed_by) == (10, grace)
    assert [entry.object_id for entry in LogEntry.objects.all()] == [str(first.pk)]


@pytest.mark.parametrize("labelled_before", [False, True], ids=["unlabelled", "labelled"])
def test_a_drawing_deleted_after_the_list_was_shown_leaves_the_other_rows_saved(reviewer_client, reviewer, drawings,
                                                                                labelled_before):
    """Its drawer may delete a drawing any time. Its row's id then failed the whole page, with an error the
    page did not show, at every Save, and the page shown again put each posted label beside the next row's
    drawing; a row that had been labelled was a 500."""
    (first, first_label), (gone, gone_label), (kept, _), *_ = drawings
    if labelled_before:
        queue.save_label(gone.pk, reviewer, (gone_label + 1) % 10)
    page = reviewer_client.get(CHANGELIST)
    gone_id = gone.pk
    gone.discard()
    response = reviewer_client.post(CHANGELIST, changelist_form_data(page, {first.pk: first_label,
                                                                            gone_id: gone_label}), follow=True)
    text = html.unescape(response.content.decode())
    assert response.redirect_chain, text[:2000]
    assert f"The label of drawing {gone_id} was not saved: it was deleted." in text
    assert "1 prediction was changed successfully." in text
    first.refresh_from_db(), kept.refresh_from_db()
    assert (first.true_label, first.reviewed_by) == (first_label, reviewer)
    assert kept.true_label is None
    assert not Prediction.objects.filter(pk=gone_id).exists()


def test_a_deleted_drawing_s_row_left_as_shown_is_not_said(reviewer_client, drawings):
    (first, first_label), (gone, _), *_ = drawings
    page = reviewer_client.get(CHANGELIST)
    gone.discard()
    response = reviewer_client.post(CHANGELIST, changelist_form_data(page, {first.pk: first_label}), follow=True)
    text = html.unescape(response.content.decode())
    assert "1 prediction was changed successfully." in text and "was deleted" not in text


def test_a_change_page_shown_before_a_label_was_given_does_not_overwrite_it(reviewer_client, drawings,
                                                                           django_user_model):
    (drawing, _), *_ = drawings
    url = f"{CHANGELIST}{drawing.pk}/change/"
    shown = shown_labels(reviewer_client.get(url))
    grace = make_user(django_user_model, "grace", staff=True, permissions=REVIEWER_PERMISSIONS)
    queue.save_label(drawing.pk, grace, 4)
    response = reviewer_client.post(url, {"true_label": "5", "true_label-as-loaded": shown["true_label"], "_save": "Save"})
    assert response.status_code == 200
    assert "grace labelled it 4 after this page was shown" in html.unescape(response.content.decode())
    drawing.refresh_from_db()
    assert (drawing.true_label, drawing.reviewed_by) == (4, grace)


def test_a_label_given_in_the_admin_moves_the_reviewer_s_own_queue_page_on(reviewer_client, reviewer, drawings):
    """The queue page showing the drawing kept its lease: it went on showing it, and its label replaced the
    admin's, unseen."""
    drawing = queue.take(reviewer, page="aa11")
    label = {shown.pk: label for shown, label in drawings}[drawing.pk]
    url = f"{CHANGELIST}{drawing.pk}/change/"
    shown = shown_labels(reviewer_client.get(url))
    form = {"true_label": str(label), "true_label-as-loaded": shown["true_label"], "_save": "Save"}
    assert reviewer_client.post(url, form).status_code == 302
    assert not ReviewLease.objects.filter(prediction=drawing).exists()
    with pytest.raises(queue.LabelledInAnotherPage):
        queue.renew(drawing.pk, reviewer, page="aa11")
    with pytest.raises(queue.LabelledInAnotherPage):
        queue.save_label(drawing.pk, reviewer, (label + 1) % 10, page="aa11")
    drawing.refresh_from_db()
    assert drawing.true_label == label


def test_a_drawing_another_reviewer_has_open_in_the_queue_is_not_labelled_on_its_change_page(
        reviewer_client, drawings, django_user_model):
    """The admin's own "mark as correct" left such a drawing alone, but its change page labelled it, and
    the reviewer in the queue was then told it was labelled meanwhile."""
    grace = make_user(django_user_model, "grace", staff=True, permissions=REVIEWER_PERMISSIONS)
    drawing = queue.take(grace)
    label = {shown.pk: label for shown, label in drawings}[drawing.pk]
    url = f"{CHANGELIST}{drawing.pk}/change/"
    shown = shown_labels(reviewer_client.get(url))
    form = {"true_label": str(label), "true_label-as-loaded": shown["true_label"], "_save": "Save"}
    response = reviewer_client.post(url, form)
    # Refused with the label chosen still on the page, and not also said to be saved.
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "another reviewer has it open in the review queue" in page and "was changed successfully" not in page
    drawing.refresh_from_db()
    assert drawing.true_label is None and not LogEntry.objects.exists()
    from_the_list = reviewer_client.post(CHANGELIST, changelist_form_data(reviewer_client.get(CHANGELIST),
                                                                          {drawing.pk: label}), follow=True)
    # Said once: the list said it twice.
    assert html.unescape(from_the_list.content.decode()).count("another reviewer has it open in the review queue") == 1
    drawing.refresh_from_db()
    assert drawing.true_label is None
    assert queue.save_label(drawing.pk, grace, label).reviewed_by == grace

    queue.release_expired(timezone.now() + timedelta(days=1))
    queue.save_label(drawing.pk, grace, None)
    queue.release(drawing.pk, grace)
    assert reviewer_client.post(url, form).status_code == 302
    drawing.refresh_from_db()
    assert drawing.true_label == label


def test_a_label_for_a_drawing_its_drawer_changed_after_the_page_was_shown_is_refused(reviewer_client, drawings,
                                                                                       mnist_test):
    (drawing, _), (other, other_label), *_ = drawings
    url = f"{CHANGELIST}{drawing.pk}/change/"
    shown = shown_labels(reviewer_client.get(url))
    listed = reviewer_client.get(CHANGELIST)
    redraw_as(drawing, mnist_test.images[4])

    response = reviewer_client.post(url, {"true_label": "10", "true_label-as-loaded": shown["true_label"],
                                          "true_label-revision-as-loaded": shown["true_label-revision"],
                                          "_save": "Save"})
    from_the_list = reviewer_client.post(CHANGELIST, changelist_form_data(listed, {drawing.pk: 10, other.pk: other_label}),
                                         follow=True)

    assert response.status_code == 200
    for answer in (response, from_the_list):
        assert "its drawer changed the drawing after this page was shown" in html.unescape(answer.content.decode())
    drawing.refresh_from_db(), other.refresh_from_db()
    # The list's other row is saved: one refused row refused the whole page.
    assert drawing.true_label is None and other.true_label == other_label
    shown = shown_labels(reviewer_client.get(url))
    assert shown["true_label-revision"] == "1"
    assert reviewer_client.post(url, {"true_label": "4", "true_label-as-loaded": shown["true_label"],
                                      "true_label-revision-as-loaded": "1", "_save": "Save"}).status_code == 302


def stale_change_form(reviewer, drawing: Prediction, label: int | None):
    """The admin's change page posted with `label`, read and validated: what its request holds when the row
    changes under it, before the admin saves."""
    request = RequestFactory().post(f"{CHANGELIST}{drawing.pk}/change/")
    request.user, request._messages = reviewer, CookieStorage(request)
    model_admin = admin.site._registry[Prediction]
    row = model_admin.get_object(request, str(drawing.pk))
    form = model_admin.get_form(request, row, change=True)(
        data={"true_label": "" if label is None else str(label), "true_label-as-loaded": "",
              "true_label-revision-as-loaded": str(row.revision)},
        instance=row)
    assert form.is_valid(), form.errors
    return model_admin, request, form


@pytest.mark.parametrize("label", [7, None], ids=["labelled", "saved unchanged"])
def test_a_change_page_saved_as_the_drawer_changes_the_drawing_keeps_the_newer_drawing(reviewer, drawings,
                                                                                      mnist_test, label):
    (drawing, _), *_ = drawings
    model_admin, request, form = stale_change_form(reviewer, drawing, label)
    redraw_as(drawing, mnist_test.images[4])
    newer = Prediction.objects.get(pk=drawing.pk)

    model_admin.save_model(request, model_admin.save_form(request, form, change=True), form, change=True)

    row = Prediction.objects.get(pk=drawing.pk)
    assert (row.revision, row.image.name, row.mnist_input) == (1, newer.image.name, newer.mnist_input)
    assert row.true_label is None and row.image.storage.exists(row.image.name)
    if label is not None:
        assert "its drawer changed the drawing after this page was shown" in str(list(get_messages(request)))


@pytest.mark.django_db(transaction=True)
def test_a_drawing_deleted_in_the_admin_as_its_drawer_changes_it_leaves_no_file(reviewer, drawings, mnist_test):
    (drawing, _), *_ = drawings
    request = RequestFactory().post(f"{CHANGELIST}{drawing.pk}/delete/")
    request.user = reviewer
    model_admin = admin.site._registry[Prediction]
    row = model_admin.get_object(request, str(drawing.pk))
    redraw_as(drawing, mnist_test.images[4])

    model_admin.delete_model(request, row)

    assert not Prediction.objects.filter(pk=drawing.pk).exists()
    files = {path.relative_to(settings.MEDIA_ROOT).as_posix() for path in Path(settings.MEDIA_ROOT).rglob("*")
             if path.is_file()}
    assert files == set(Prediction.objects.values_list("image", flat=True))


def test_the_active_model_version_cannot_be_deleted(client, django_user_model, served_model, tmp_path):
    make_user(django_user_model, "engineer", staff=True, permissions=("view_modelversion", "delete_modelversion"))
    client.login(username="engineer", password=PASSWORD)
    retired = ModelVersion.objects.register(Path(settings.MODELS_DIR) / "mnist_cnn_v4.pt", name="retired")
    assert client.get(f"{VERSIONS}{served_model.pk}/delete/").status_code == 403
    both = {"action": "delete_selected", "_selected_action": [served_model.pk, retired.pk], "post": "yes"}
    assert client.post(VERSIONS, both).status_code == 403
    assert ModelVersion.objects.count() == 2
    client.post(VERSIONS, {**both, "_selected_action": [retired.pk]})
    assert list(ModelVersion.objects.values_list("name", flat=True)) == [served_model.name]


def test_staff_who_may_only_view_see_a_drawing_s_page_and_its_label(client, django_user_model, drawings):
    viewer = make_user(django_user_model, "viewer", staff=True, permissions=("view_prediction",))
    client.login(username=viewer.username, password=PASSWORD)
    (drawing, _), *_ = drawings
    Prediction.objects.filter(pk=drawing.pk).update(true_label=3)
    response = client.get(f"{CHANGELIST}{drawing.pk}/change/")
    assert response.status_code == 200 and "true_label" not in response.context["adminform"].form.fields


def test_a_correction_in_the_admin_is_never_checked_by_its_own_author(reviewer_client, reviewer, drawings,
                                                                     django_user_model, settings):
    """A label corrected on the change page drops the second opinion drawn for the label it replaced:
    its author was being asked to check her own label, blind. Her correction is the drawing's label, not
    the second opinion she was owed: the page showed her the label it replaces."""
    settings.REVIEW_SECOND_OPINION_PERCENT = 100
    (drawing, label), *_ = drawings
    grace = make_user(django_user_model, "grace", staff=True, permissions=REVIEWER_PERMISSIONS)
    queue.save_label(drawing.pk, grace, (label + 1) % 10)
    assert SecondOpinion.objects.filter(prediction=drawing, first_reviewer=grace, label__isnull=True).exists()
    url = f"{CHANGELIST}{drawing.pk}/change/"
    shown = shown_labels(reviewer_client.get(url))
    response = reviewer_client.post(url, {"true_label": str(label), "true_label-as-loaded": shown["true_label"],
                                          "_save": "Save"})
    assert response.status_code == 302
    drawing.refresh_from_db()
    assert (drawing.true_label, drawing.reviewed_by) == (label, reviewer)
    assert not SecondOpinion.objects.filter(prediction=drawing).exists()
    assert queue.take(reviewer) != drawing


def test_a_label_that_is_neither_a_digit_nor_not_a_digit_is_refused(reviewer_client, drawings):
    (first, _), *_ = drawings
    response = reviewer_client.post(CHANGELIST, changelist_form_data(reviewer_client.get(CHANGELIST),
                                                                     {first.pk: 12}))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    first.refresh_from_db()
    assert first.true_label is None and first.reviewed_by is None


def marked_as_correct(client, data: dict, tick=(), untick=()):
    """Ask the admin to mark drawings as correct (`data`: what the list posts with the action), then confirm on the
    page it answers with, as its boxes are ticked there, these drawings ticked and those unticked besides."""
    asked = client.post(CHANGELIST, {"action": "mark_as_correct", **data})
    assert asked.status_code == 200 and "Mark these predictions as correct?" in asked.content.decode()
    page = asked.content.decode()
    ticked = set(re.findall(r'name="_selected_action" value="([0-9a-f-]+)" checked', page))
    ticked = (ticked | {str(p.pk) for p in tick}) - {str(p.pk) for p in untick}
    revisions = dict(re.findall(r'name="(revision-[0-9a-f-]+)" value="(\d+)"', page))
    return client.post(CHANGELIST, {"action": "mark_as_correct", "post": "yes", "_selected_action": sorted(ticked),
                                    **revisions})


def test_mark_as_correct(reviewer_client, reviewer, drawings):
    chosen = [prediction for prediction, _ in drawings[:4]]
    response = marked_as_correct(reviewer_client, {"_selected_action": [str(p.pk) for p in chosen]})
    assert response.status_code == 302
    for prediction in chosen:
        prediction.refresh_from_db()
        assert prediction.true_label == prediction.digit
        assert prediction.reviewed_by == reviewer and prediction.reviewed_at is not None
    assert Prediction.objects.unreviewed().count() == len(drawings) - 4
    assert "Marked 4 prediction(s) as correct." in [str(m) for m in get_messages(response.wsgi_request)]


def test_mark_as_correct_asks_first_showing_each_drawing_the_doubtful_unticked(reviewer_client, drawings):
    """Marked unseen, a confident wrong answer became a training label: each drawing is shown with the label it
    would get, and the disputed and doubtful are left out unless the reviewer ticks them."""
    (disputed, _), (doubtful, _), (confident, _), (unticked, _) = drawings[:4]
    Prediction.objects.filter(pk=disputed.pk).update(reported_label=(disputed.digit + 1) % 10)
    Prediction.objects.filter(pk=doubtful.pk).update(margin=0.2)
    chosen = [str(p.pk) for p in (disputed, doubtful, confident, unticked)]
    asked = reviewer_client.post(CHANGELIST, {"action": "mark_as_correct", "_selected_action": chosen})
    page = asked.content.decode()
    assert Prediction.objects.reviewed().count() == 0
    for prediction in (disputed, doubtful, confident, unticked):
        assert f'src="{html.escape(prediction.image.url)}"' in page
    assert page.index(str(disputed.pk)) < page.index(str(doubtful.pk)) < page.index(str(confident.pk))
    assert f'value="{disputed.pk}" checked' not in page and f'value="{doubtful.pk}" checked' not in page
    assert f'value="{confident.pk}" checked' in page
    assert f"the drawer says <strong>{(disputed.digit + 1) % 10}</strong>" in page

    response = marked_as_correct(reviewer_client, {"_selected_action": chosen}, tick=[doubtful], untick=[unticked])
    labelled = {p.pk: p.true_label for p in Prediction.objects.filter(pk__in=chosen)}
    assert labelled == {disputed.pk: None, doubtful.pk: doubtful.digit, confident.pk: confident.digit,
                        unticked.pk: None}
    assert "Marked 2 prediction(s) as correct." in [str(m) for m in get_messages(response.wsgi_request)]


def test_mark_as_correct_keeps_a_reviewer_s_correction(reviewer_client, reviewer, drawings, django_user_model):
    corrected, _ = drawings[0]
    other = make_user(django_user_model, "grace", staff=True)
    Prediction.objects.filter(pk=corrected.pk).update(true_label=(corrected.digit + 1) % 10, reviewed_by=other)
    selected = {"_selected_action": [str(p.pk) for p, _ in drawings[:3]]}
    asked = reviewer_client.post(CHANGELIST, {"action": "mark_as_correct", **selected}).content.decode()
    assert str(corrected.pk) not in asked and "1 already reviewed keep their label." in asked
    response = marked_as_correct(reviewer_client, selected, tick=[corrected])
    corrected.refresh_from_db()
    assert corrected.true_label == (corrected.digit + 1) % 10 and corrected.reviewed_by == other
    assert "Marked 2 prediction(s) as correct. 1 already reviewed kept their label." in \
        [str(m) for m in get_messages(response.wsgi_request)]


def list_rows(*shown) -> dict:
    """A list page's rows as it posts them with an action: each drawing's id and the revision it showed."""
    rows = {}
    for n, (prediction, revision) in enumerate(shown):
        rows[f"form-{n}-id"] = str(prediction.pk)
        rows[f"form-{n}-true_label-revision-as-loaded"] = str(revision)
    return rows


def test_mark_as_correct_confirms_only_the_version_the_page_showed(reviewer_client, reviewer, drawings, settings,
                                                                    django_user_model):
    """The action confirmed whatever each drawing held by then: a 1 its drawer redrew as a 0 after the page
    showed it was stored as a 0 nobody saw; so was a drawing still being drawn, or in another's hands."""
    settings.REVIEW_SETTLE_SECONDS = 30
    (redrawn, _), (kept, _), (leased, _), (beyond, _), (settled, _) = drawings[:5]
    Prediction.objects.filter(pk=redrawn.pk).update(revision=1, updated_at=timezone.now())
    Prediction.objects.filter(pk__in=[kept.pk, leased.pk]).update(updated_at=timezone.now())
    Prediction.objects.filter(pk=settled.pk).update(updated_at=timezone.now() - timedelta(minutes=1))
    other = make_user(django_user_model, "grace", staff=True)
    ReviewLease.objects.create(prediction=leased, reviewer=other, expires_at=timezone.now() + timedelta(minutes=5))

    page = reviewer_client.get(CHANGELIST).content.decode()
    assert 'name="form-0-id"' in page and 'name="form-0-true_label-revision-as-loaded"' in page
    # On the page: the first three as they were loaded. Selected beyond it: one drawn a moment ago, one settled.
    selected = {"_selected_action": [str(p.pk) for p, _ in drawings[:5]], **list_rows((redrawn, 0), (kept, 0), (leased, 0))}
    asked = reviewer_client.post(CHANGELIST, {"action": "mark_as_correct", **selected}).content.decode()
    assert str(redrawn.pk) not in asked and str(beyond.pk) not in asked
    assert "2 changed by their drawer since the list was shown, or still being drawn, are left" in asked
    # Redrawn after the page that asks showed it: what it showed is not what would be labelled.
    Prediction.objects.filter(pk=settled.pk).update(revision=1)
    response = reviewer_client.post(CHANGELIST, {
        "action": "mark_as_correct", "post": "yes",
        "_selected_action": re.findall(r'name="_selected_action" value="([0-9a-f-]+)" checked', asked),
        **dict(re.findall(r'name="(revision-[0-9a-f-]+)" value="(\d+)"', asked))})
    labelled = {p.pk: p.true_label for p in Prediction.objects.filter(pk__in=[p.pk for p, _ in drawings[:5]])}
    assert labelled == {redrawn.pk: None, kept.pk: kept.digit, leased.pk: None, beyond.pk: None, settled.pk: None}
    assert ("Marked 1 prediction(s) as correct. 1 changed by their drawer since the page was shown were left: "
            "reload the page to see them. 1 in another reviewer's hands was left."
            in [str(m) for m in get_messages(response.wsgi_request)])


def test_mark_as_correct_leaves_a_drawing_confirmed_at_a_revision_it_never_had(reviewer_client, drawings):
    """A confirmation naming a revision still to come was a 500."""
    (drawing, _), (other, _) = drawings[:2]
    response = reviewer_client.post(CHANGELIST, {
        "action": "mark_as_correct", "post": "yes", "_selected_action": [str(drawing.pk), str(other.pk)],
        f"revision-{drawing.pk}": "9" * 40, f"revision-{other.pk}": "0"})
    assert response.status_code == 302
    assert {p.pk: p.true_label for p in Prediction.objects.filter(pk__in=[drawing.pk, other.pk])} == \
        {drawing.pk: None, other.pk: other.digit}
    assert "Marked 1 prediction(s) as correct. 1 changed by their drawer since the page was shown were left: " \
        "reload the page to see them." in [str(m) for m in get_messages(response.wsgi_request)]


def test_a_drawing_is_named_with_its_share_as_the_list_shows_it(drawings):
    """Messages named a drawing answered at 0.9996 "(100%)", where the list shows "> 99.9%"."""
    (drawing, _), *_ = drawings
    drawing.confidence = 0.9996
    assert f"({percent(0.9996)}%)" == "(> 99.9%)" and "(> 99.9%)" in str(drawing)


def test_mark_as_correct_draws_second_opinions_as_any_first_label(reviewer_client, drawings, settings):
    settings.REVIEW_SECOND_OPINION_PERCENT = 100
    chosen = [prediction for prediction, _ in drawings[:3]]
    marked_as_correct(reviewer_client, {"_selected_action": [str(p.pk) for p in chosen]})
    assert SecondOpinion.objects.filter(prediction__in=chosen, label__isnull=True).count() == 3


def test_export_selected_as_npz_skips_the_unlabelled(reviewer_client, drawings):
    labelled = [(prediction, label) for prediction, label in drawings[:3]]
    for prediction, label in labelled:
        Prediction.objects.filter(pk=prediction.pk).update(true_label=label)
    selected = [str(prediction.pk) for prediction, _ in drawings[:5]]

    response = reviewer_client.post(CHANGELIST, {"action": "export_dataset", "_selected_action": selected})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith('attachment; filename="reviewed-')
    with np.load(io.BytesIO(response.content), allow_pickle=False) as archive:
        images, labels, ids = archive["images"], archive["labels"], archive["ids"]
    assert images.dtype == np.uint8 and images.shape == (3, 28, 28)
    by_id = {str(prediction.pk): (prediction, label) for prediction, label in labelled}
    assert sorted(ids) == sorted(by_id)
    for image, label, prediction_id in zip(images, labels, ids):
        prediction, true_label = by_id[prediction_id]
        assert label == true_label
        assert np.array_equal(image, prediction.input_array)
    assert "Skipped 2 selected prediction(s) without a true label." in [
        str(m) for m in get_messages(response.wsgi_request)]

    response = reviewer_client.post(CHANGELIST, {"action": "export_dataset", "_selected_action": selected[3:]})
    assert response.status_code == 302
    assert any("nothing to export" in str(m) for m in get_messages(response.wsgi_request))


def test_change_page_shows_the_drawing_its_input_and_the_probabilities(reviewer_client, reviewer, drawings):
    (prediction, label), *_ = drawings
    url = f"{CHANGELIST}{prediction.pk}/change/"
    page = reviewer_client.get(url).content.decode()

    assert f'src="{prediction.image.url}"' in page
    start = page.index("data:image/png;base64,") + len("data:image/png;base64,")
    shown = Image.open(io.BytesIO(base64.b64decode(page[start:page.index('"', start)])))
    assert shown.size == (28, 28)
    assert np.array_equal(np.asarray(shown), prediction.input_array)
    assert page.count('class="probability-bar') == 10
    for probability in prediction.probabilities:
        assert html.escape(f"{percent(probability)}%") in page
    # The prediction is read-only; only the true label is a form field.
    assert 'name="true_label"' in page
    for field in ("digit", "confidence", "probabilities", "reported_label", "model_version"):
        assert f'name="{field}"' not in page

    response = reviewer_client.post(url, {"true_label": str(label)})
    assert response.status_code == 302
    prediction.refresh_from_db()
    assert prediction.true_label == label and prediction.reviewed_by == reviewer


def test_anonymous_is_sent_to_login_and_non_staff_is_refused(client, django_user_model, drawings):
    (prediction, _), *_ = drawings
    for url in (CHANGELIST, f"{CHANGELIST}{prediction.pk}/change/", VERSIONS):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")

    visitor = make_user(django_user_model, "visitor", staff=False, permissions=REVIEWER_PERMISSIONS)
    client.login(username=visitor.username, password=PASSWORD)
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = client.post(CHANGELIST, {"action": "mark_as_correct", "_selected_action": [str(prediction.pk)]})
    assert response.status_code == 302
    prediction.refresh_from_db()
    assert prediction.true_label is None


@pytest.mark.parametrize("url, action", [(CHANGELIST, "mark_as_correct"), (CHANGELIST, "export_dataset"),
                                         (VERSIONS, "activate")])
@pytest.mark.parametrize("selected", ["nope", "12345678-1234-1234-1234-1234567890ab1", "1e3"])
def test_an_action_on_ids_that_are_no_ids_is_refused_without_an_error(reviewer_client, url, action, selected):
    """A form sent with an id no row can have was a 500 (Django filtered the rows by it as it came)."""
    response = reviewer_client.post(url, {"action": action, "post": "yes", "_selected_action": [selected]},
                                    follow=True)
    assert response.status_code == 200
    assert "select them again. No items have been changed." in response.content.decode()
    assert not Prediction.objects.filter(true_label__isnull=False).exists()


def test_model_versions_list_their_metrics_and_activate(reviewer_client, tmp_path, shipped_model_path):
    paths = {name: tmp_path / f"{name}.pt" for name in ("first", "second")}
    for path in paths.values():
        path.write_bytes(shipped_model_path.read_bytes())
    first = ModelVersion.objects.register(paths["first"], name="first", activate=True, reviewed_accuracy=0.8125)
    second = ModelVersion.objects.register(paths["second"], name="second")

    page = reviewer_client.get(VERSIONS).content.decode()
    for text in ("first", "second", str(first.params), f"{first.mnist_accuracy:.2%}", "81.25%"):
        assert text in page

    response = reviewer_client.post(VERSIONS, {"action": "activate", "_selected_action": [str(second.pk)]},
                                    follow=True)
    assert "Activated second" in response.content.decode()
    assert ModelVersion.objects.get(is_active=True) == second

    paths["first"].write_bytes(b"not a checkpoint")
    response = reviewer_client.post(VERSIONS, {"action": "activate", "_selected_action": [str(first.pk)]},
                                    follow=True)
    assert "Refusing to activate first" in response.content.decode()
    assert ModelVersion.objects.get(is_active=True) == second

    response = reviewer_client.post(VERSIONS, {"action": "activate",
                                               "_selected_action": [str(first.pk), str(second.pk)]}, follow=True)
    assert "Select exactly one model version" in response.content.decode()
    assert ModelVersion.objects.get(is_active=True) == second

    # The served version's file gone, another replaces it without the gate, and the page says so, as the
    # command does (it said nothing).
    paths["first"].write_bytes(shipped_model_path.read_bytes())
    paths["second"].unlink()
    response = reviewer_client.post(VERSIONS, {"action": "activate", "_selected_action": [str(first.pk)]},
                                    follow=True)
    assert ModelVersion.objects.get(is_active=True) == first
    assert "The release gate was not run: the active version second cannot be loaded" in html.unescape(
        response.content.decode())


STROKES = [{"pointer": "pen", "points": [[0.5, 0.2, 0, 0.4], [0.52, 0.5, 80, 0.6], [0.5, 0.8, 160, 0.5]]},
           {"pointer": "pen", "points": [[0.3, 0.5, 600, 0.5], [0.7, 0.5, 700, 0.5]]}]


def test_the_list_reads_no_strokes(reviewer_client, drawings):
    """Fifty rows of a stranger's 4,000-point strokes took the list two seconds to read and parse."""
    Prediction.objects.update(strokes=STROKES)
    with CaptureQueriesContext(connection) as queries:
        assert len(listed_ids(reviewer_client.get(CHANGELIST))) == len(drawings)
    listing = [query["sql"] for query in queries if "recognizer_prediction" in query["sql"]]
    assert listing and not any("strokes" in sql for sql in listing)


@pytest.mark.parametrize("review", ["unreviewed", "reviewed", "wrong"])
def test_the_list_is_read_off_an_index_in_order_and_counts_no_more_than_it_shows(reviewer_client, drawings, review):
    """At 300,000 drawings SQLite sorted every unreviewed row with all its columns for each page (1.4 s;
    48 s sorted by confidence, deep in the list), and every page counted the whole table twice and read
    the digits it holds with a DISTINCT over it."""
    with CaptureQueriesContext(connection) as queries:
        listed_ids(reviewer_client.get(CHANGELIST, {"review": review}))
        listed_ids(reviewer_client.get(CHANGELIST, {"review": review, "o": "5.-3"}))
    listing = [query["sql"] for query in queries if "recognizer_prediction" in query["sql"]]
    assert not any("DISTINCT" in sql.upper() for sql in listing), listing
    assert sum("COUNT(" in sql.upper() for sql in listing) == 2, listing
    default, asked_for_another = [sql for sql in listing
                                  if "ORDER BY" in sql and '"true_label" IS' in sql and "COUNT(" not in sql]
    assert asked_for_another.split("ORDER BY")[1] == default.split("ORDER BY")[1]
    plan = query_plan(default)
    if review == "unreviewed":
        # SQLite reads them off review_list_order; PostgreSQL, which does not take IS NULL for an equality,
        # off the index of created_at: in order either way, not every unreviewed row sorted.
        assert "TEMP B-TREE" not in plan and not re.search(r"(?m)^\s*(->\s+)?Sort\s+\(", plan), plan
        assert "review_list_order" in plan or connection.vendor == "postgresql", plan
    elif connection.vendor == "sqlite":
        # Only the reviewed rows are read, in order (at 300,000 drawings, 30,000 of them reviewed, counting
        # the wrongly answered ones read every row: 0.6 s a page).
        assert "reviewed_list_order" in plan and "TEMP B-TREE" not in plan, plan


def test_the_list_pages_through_the_newest_drawings_only(reviewer_client, drawings, monkeypatch):
    """The last of 300,000 drawings' pages (two rows) took SQLite 36 s: it sorted every row to skip them."""
    monkeypatch.setattr(admin_module, "LIST_DEPTH", 4)
    monkeypatch.setattr(admin_module.PredictionAdmin, "list_per_page", 2)
    with CaptureQueriesContext(connection) as queries:
        second = reviewer_client.get(CHANGELIST, {"p": 2})
    assert len(listed_ids(second)) == 2 and second.context["cl"].result_count == 4
    assert all("OFFSET" not in query["sql"] or "OFFSET 2" in query["sql"] for query in queries)
    beyond = reviewer_client.get(CHANGELIST, {"p": 3})
    assert beyond.status_code == 302 and "e=1" in beyond["Location"]
    older = Prediction.objects.order_by("created_at").first()
    assert older.pk in listed_ids(reviewer_client.get(CHANGELIST, {"q": older.pk.hex}))


def test_the_id_search_takes_an_id_s_start_off_the_primary_key(reviewer_client, drawings):
    drawing = drawings[0][0]
    with CaptureQueriesContext(connection) as queries:
        assert listed_ids(reviewer_client.get(CHANGELIST, {"q": drawing.pk.hex[:6]})) == [drawing.pk]
    [page] = [query["sql"] for query in queries if "recognizer_prediction" in query["sql"]
              and "ORDER BY" in query["sql"] and "COUNT(" not in query["sql"] and "auth_user" not in query["sql"]]
    assert "LIKE" not in page.upper() and "REPLACE" not in page.upper(), page


def test_change_page_replays_the_strokes_beside_the_drawing(reviewer_client, drawings):
    (prediction, _), (without_strokes, _), *_ = drawings
    Prediction.objects.filter(pk=prediction.pk).update(strokes=STROKES)
    page = reviewer_client.get(f"{CHANGELIST}{prediction.pk}/change/").content.decode()
    start = page.index('data-strokes="') + len('data-strokes="')
    assert json.loads(html.unescape(page[start:page.index('"', start)])) == STROKES
    assert "recognizer/review/admin-replay.js" in page
    page = reviewer_client.get(f"{CHANGELIST}{without_strokes.pk}/change/").content.decode()
    assert "data-strokes" not in page


def test_strokes_export_is_quickdraw_ndjson_from_the_admin_and_the_command(reviewer_client, drawings, tmp_path):
    (drawn, label), (uploaded, uploaded_label), (unreviewed, _), *_ = drawings
    Prediction.objects.filter(pk=drawn.pk).update(strokes=STROKES, true_label=label)
    Prediction.objects.filter(pk=uploaded.pk).update(true_label=uploaded_label)
    Prediction.objects.filter(pk=unreviewed.pk).update(strokes=STROKES)
    selected = [str(p.pk) for p, _ in drawings]

    response = reviewer_client.post(CHANGELIST, {"action": "export_strokes", "_selected_action": selected})
    assert response.status_code == 200 and response["Content-Type"] == "application/x-ndjson"
    body = b"".join(response.streaming_content).decode()
    (line,) = [json.loads(text) for text in body.splitlines()]
    assert line == {"key_id": str(drawn.pk), "word": str(label), "recognized": drawn.digit == label,
                    "drawing": [[[0.5, 0.52, 0.5], [0.2, 0.5, 0.8], [0, 80, 160]],
                                [[0.3, 0.7], [0.5, 0.5], [600, 700]]]}

    call_command("export_reviewed", "--out", str(tmp_path / "reviewed.npz"), "--strokes",
                 str(tmp_path / "strokes.ndjson"), stdout=io.StringIO())
    assert (tmp_path / "strokes.ndjson").read_text() == body


def test_a_strokes_export_of_nothing_is_said_not_sent(reviewer_client, drawings):
    """An empty file came down without a word, where the dataset's export says there is nothing to export."""
    (unreviewed, _), (uploaded, label), *_ = drawings
    Prediction.objects.filter(pk=unreviewed.pk).update(strokes=STROKES)
    Prediction.objects.filter(pk=uploaded.pk).update(true_label=label)
    response = reviewer_client.post(CHANGELIST, {"action": "export_strokes",
                                                 "_selected_action": [str(unreviewed.pk), str(uploaded.pk)]},
                                    follow=True)
    assert response["Content-Type"].startswith("text/html")
    assert "None of the selected predictions is a reviewed drawing with strokes; nothing to export." in \
        html.unescape(response.content.decode())
