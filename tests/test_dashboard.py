"""The review dashboard: empty, with reviewed drawings from two model versions over two days, staff only."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from recognizer.inference import active_version
from recognizer.models import ModelVersion, Prediction, SecondOpinion
from recognizer.review.dashboard import DAYS_SHOWN
from recognizer.templatetags.figures import percent, percent_of

from .reviewing import PASSWORD, make_user, record_drawing, rotated

pytestmark = pytest.mark.django_db

URL = "/review/"


@pytest.fixture
def staff_client(client, django_user_model):
    user = make_user(django_user_model, "reviewer", staff=True, permissions=("view_prediction",))
    client.login(username=user.username, password=PASSWORD)
    return client


def test_renders_with_no_data(staff_client):
    response = staff_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "No drawings yet." in page and "No drawing made in the last 90 days has been reviewed yet." in page
    assert "No reviewed drawing was predicted wrong." in page
    assert response.context["queue_total"] == 0
    assert all(cell["count"] == 0 for row in response.context["confusion"] for cell in row["cells"])


@pytest.fixture
def reviewed_history(mnist_test):
    """Sixteen drawings: eight upright and four slanted reviewed (some predicted wrong), four awaiting review,
    two of which the drawer reported as another digit. Half were made yesterday by an older version."""
    older = ModelVersion.objects.register(active_version().file_path, name="older")
    rows = []
    for i in range(8):
        rows.append((record_drawing(mnist_test.images[i]), int(mnist_test.labels[i])))
    for i in range(8, 12):
        rows.append((record_drawing(rotated(mnist_test.images[i], 60)), int(mnist_test.labels[i])))
    for prediction, true_label in rows:
        prediction.true_label = true_label
    Prediction.objects.bulk_update([p for p, _ in rows], ["true_label"])
    pending = [record_drawing(mnist_test.images[i]) for i in range(12, 16)]
    pending[0].reported_label = (pending[0].digit + 1) % 10
    pending[1].reported_label = (pending[1].digit + 2) % 10
    pending[2].reported_label = pending[2].digit
    Prediction.objects.bulk_update(pending[:3], ["reported_label"])
    yesterday = timezone.now() - timedelta(days=1)
    Prediction.objects.filter(pk__in=[p.pk for p, _ in rows[::2]]).update(created_at=yesterday,
                                                                        model_version=older)
    return Prediction.objects.all()


def test_renders_the_numbers_of_reviewed_drawings(staff_client, reviewed_history, django_assert_max_num_queries):
    # Every figure is one aggregation: the number of queries does not grow with the number of drawings.
    with django_assert_max_num_queries(25):
        response = staff_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    context = response.context
    predictions = list(reviewed_history)
    reviewed = [p for p in predictions if p.true_label is not None]

    assert context["progress"] == {"total": 16, "unreviewed": 4}
    assert "25%</span> of drawings are unreviewed" in page

    confusion = Counter((p.true_label, p.answered_label) for p in reviewed)
    for row in context["confusion"]:
        for cell in row["cells"]:
            assert cell["count"] == confusion[row["true"], cell["predicted"]]
    wrong = {pair: n for pair, n in confusion.items() if pair[0] != pair[1]}
    assert wrong, "the slanted drawings should give the model some mistakes"
    pairs = context["confused_pairs"]
    assert [(pair["true"], pair["predicted"], pair["count"]) for pair in pairs] == sorted(
        ((t, p, n) for (t, p), n in wrong.items()), key=lambda item: (-item[2], item[0], item[1]))
    for pair in pairs:
        assert pair["examples"] and all(e.true_label == pair["true"] and e.answered_label == pair["predicted"]
                                        for e in pair["examples"])
        assert f'src="{pair["examples"][0].image.url}"' in page

    expected = Counter()
    for p in reviewed:
        key = (p.model_version.name, timezone.localtime(p.created_at).date())
        expected[key, "reviewed"] += 1
        expected[key, "correct"] += p.true_label == p.answered_label
    rows = context["accuracy_by_day"]
    assert len(rows) == 2
    for row in rows:
        key = (row["version"], row["day"])
        assert (row["reviewed"], row["correct"]) == (expected[key, "reviewed"], expected[key, "correct"])
        assert row["accuracy"] == pytest.approx(row["correct"] / row["reviewed"])
        assert f"{row['accuracy']:.3f}" in page
    assert {row["version"] for row in rows} == {"older", active_version().name}
    assert page.count("<polyline") == 2 and page.count("<circle") == 2

    queue = list(context["queue"])
    assert context["queue_total"] == 2
    assert {p.pk for p in queue} == {p.pk for p in predictions
                                     if p.true_label is None and p.reported_label not in (None, p.answered_label)}
    for prediction in queue:
        assert f"/admin/recognizer/prediction/{prediction.pk}/change/" in page


def test_the_accuracy_per_day_covers_the_last_days_only(staff_client, reviewed_history):
    """Over every day since the site began, the page grew by a row and a dot a day, and its query with all
    the reviewed drawings ever made."""
    long_ago = timezone.now() - timedelta(days=DAYS_SHOWN + 1)
    old = reviewed_history.reviewed().first()
    Prediction.objects.filter(pk=old.pk).update(created_at=long_ago)
    response = staff_client.get("/review/")
    days = {row["day"] for row in response.context["accuracy_by_day"]}
    assert days and timezone.localtime(long_ago).date() not in days
    assert f"the last {DAYS_SHOWN} days" in response.content.decode()
    assert "Confusion matrix of all reviewed drawings" in response.content.decode()
    Prediction.objects.update(created_at=long_ago)
    page = staff_client.get("/review/").content.decode()
    assert f"No drawing made in the last {DAYS_SHOWN} days has been reviewed yet." in page
    # The whole history still counts in the confusion matrix.
    assert sum(sum(cell["count"] for cell in row["cells"]) for row in response.context["confusion"]) == 12


def test_staff_only(client, django_user_model):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    visitor = make_user(django_user_model, "visitor", staff=False)
    client.login(username=visitor.username, password=PASSWORD)
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_the_right_to_see_predictions_is_refused_and_not_shown_the_way(client, django_user_model):
    """The admin's index linked every staff member to the dashboard, and it answered 403."""
    clerk = make_user(django_user_model, "clerk", staff=True)
    client.login(username=clerk.username, password=PASSWORD)
    refused = client.get(URL)
    assert refused.status_code == 403 and "the permission to view predictions" in refused.content.decode()
    assert URL not in client.get("/admin/").content.decode()


def test_staff_who_may_change_predictions_may_see_the_dashboard(client, django_user_model):
    """The admin counts the right to change as one to view: staff who could label in the admin and the queue
    followed the queue's link to the dashboard, and were refused it."""
    labeller = make_user(django_user_model, "labeller", staff=True, permissions=("change_prediction",))
    client.login(username=labeller.username, password=PASSWORD)
    assert client.get(URL).status_code == 200
    assert f'<a href="{URL}">Review dashboard</a>' in client.get("/admin/").content.decode()


def test_linked_from_the_admin_index(staff_client):
    page = staff_client.get("/admin/").content.decode()
    assert f'<a href="{URL}">Review dashboard</a>' in page


def test_the_queue_is_linked_only_for_staff_who_may_label(staff_client, client, django_user_model):
    """Staff who may only view predictions followed the link to a 403."""
    for page in (staff_client.get("/admin/"), staff_client.get(URL)):
        assert "/review/queue/" not in page.content.decode()
    labeller = make_user(django_user_model, "labeller", staff=True,
                         permissions=("view_prediction", "change_prediction"))
    client.login(username=labeller.username, password=PASSWORD)
    for page in (client.get("/admin/"), client.get(URL)):
        assert '<a href="/review/queue/">' in page.content.decode()


def test_not_a_digit_is_said_in_words(staff_client, mnist_test, django_user_model):
    """The label 10 is "not a digit" wherever the dashboard shows a label, as everywhere else."""
    reported, labelled = record_drawing(mnist_test.images[0]), record_drawing(mnist_test.images[1])
    Prediction.objects.filter(pk=reported.pk).update(reported_label=10)
    Prediction.objects.filter(pk=labelled.pk).update(true_label=10)
    first, second = (make_user(django_user_model, name, staff=True) for name in ("ada", "grace"))
    SecondOpinion.objects.create(prediction=labelled, first_reviewer=first, first_label=10, reviewer=second,
                                 label=int(mnist_test.labels[1]), reviewed_at=timezone.now())
    page = staff_client.get(URL).content.decode()
    assert "<td>not a digit</td>" in page and "<td>not a digit (ada)</td>" in page
    assert "<td>10</td>" not in page and "<td>10 (" not in page


@pytest.mark.parametrize(("part", "whole", "shown"), [
    (4, 16, "25"), (1, 318, "0.3"), (317, 318, "99.7"), (1, 3000, "< 0.1"), (2999, 3000, "> 99.9"), (0, 5, "0"),
    (11, 20, "55"), (7, 100, "7"),
])
def test_a_share_is_never_rounded_to_none_or_all(part, whole, shown):
    """Rounded to whole percents, one drawing unreviewed of 318 read "0% of drawings are unreviewed"."""
    assert percent_of(part, whole) == shown


@pytest.mark.parametrize(("probability", "shown"), [
    (0.9996, "> 99.9"), (0.983, "98.3"), (0.5, "50"), (0.0004, "< 0.1"), (1.0, "100"), (0.0, "0"),
    (0.29, "29"), (0.0025, "0.3"), (1 / 16, "6.3"), (float("nan"), "nan"),
])
def test_a_probability_short_of_certain_is_never_shown_as_100_percent(probability, shown):
    """A reviewer read "100.0%" beside an answer the model gave at 0.9996. 100 * 0.29 is 28.999999999999996,
    which read "29.0"; a half is rounded up, as the queue page's script rounds it."""
    assert percent(probability) == shown
