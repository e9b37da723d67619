"""The review queue over HTTP: order, leases between reviewers, labels saved at once, undo, second opinions."""

import re
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mlcore.labels import NOT_A_DIGIT
from recognizer.models import ModelVersion, Prediction, ReviewLease, SecondOpinion
from recognizer import inference
from recognizer.review import queue

from .reviewing import PASSWORD, REVIEWER_PERMISSIONS, make_user, record_drawing, redraw_as

pytestmark = pytest.mark.django_db

PAGE = "/review/queue/"
NEXT = "/review/queue/next/"


def label_url(prediction_id) -> str:
    return f"/review/queue/{prediction_id}/label/"


@pytest.fixture
def reviewers(django_user_model):
    return [make_user(django_user_model, name, staff=True, permissions=REVIEWER_PERMISSIONS)
            for name in ("ada", "grace")]


def logged_in(client_class, user):
    client = client_class()
    client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def clients(reviewers):
    from django.test import Client
    return [logged_in(Client, user) for user in reviewers]


def confident_probabilities(digit: int) -> list[float]:
    return [0.91 if d == digit else 0.01 for d in range(10)]


def doubtful_probabilities(digit: int, runner_up: int) -> list[float]:
    probabilities = [0.0125] * 10
    probabilities[digit], probabilities[runner_up] = 0.5, 0.4
    return probabilities


@pytest.fixture
def filled(mnist_test):
    """Nine drawings, three of each tier, made a minute apart (index 0 oldest); returns them by tier."""
    rows = [record_drawing(mnist_test.images[i]) for i in range(9)]
    start = timezone.now() - timedelta(hours=1)
    tiers = {"disputed": [], "doubtful": [], "confident": []}
    for index, row in enumerate(rows):
        digit = row.digit
        row.created_at = start + timedelta(minutes=index)
        tier = ("disputed", "doubtful", "confident")[index % 3]
        if tier == "disputed":
            row.reported_label = (digit + 1) % 10
            row.probabilities = confident_probabilities(digit)
        elif tier == "doubtful":
            row.probabilities = doubtful_probabilities(digit, (digit + 3) % 10)
        else:
            row.reported_label = digit
            row.probabilities = confident_probabilities(digit)
        row.save()
        tiers[tier].append(row)
    return tiers


def newest_first(rows):
    return [str(row.pk) for row in sorted(rows, key=lambda row: row.created_at, reverse=True)]


def until_none(ask, limit: int = 50):
    """Each answer of `ask()` until it answers None: a queue that never runs dry fails the test, where a bare
    loop would hang the run."""
    for _ in range(limit):
        if (answer := ask()) is None:
            return
        yield answer
    pytest.fail(f"still answering after {limit} asks")


def test_order_is_disputed_then_doubtful_then_the_rest_newest_first(clients, filled):
    client = clients[0]
    seen = []
    for item in until_none(lambda: client.post(NEXT, {}, content_type="application/json").json()["item"]):
        seen.append(item["id"])
        assert client.post(label_url(item["id"]), {"label": 1}, content_type="application/json").status_code == 200
    assert seen == (newest_first(filled["disputed"]) + newest_first(filled["doubtful"])
                    + newest_first(filled["confident"]))


def test_a_not_a_digit_answer_counts_as_doubtful_and_a_matching_report_is_not_disputed(clients, filled):
    rejected = filled["confident"][0]
    Prediction.objects.filter(pk=rejected.pk).update(digit=None, margin=0.0, reported_label=NOT_A_DIGIT)
    order = [row.pk for row in queue.unreviewed_in_order()]
    assert order.index(rejected.pk) < min(order.index(row.pk) for row in filled["confident"][1:])
    assert order.index(rejected.pk) > max(order.index(row.pk) for row in filled["disputed"])
    # Said as what it is: "doubtful" stood beside "not a digit (99.9% sure)".
    shown = {}
    for item in until_none(lambda: clients[0].post(NEXT, {}, content_type="application/json").json()["item"]):
        shown[item["id"]] = item["tier"]
        clients[0].post(label_url(item["id"]), {"label": 1}, content_type="application/json")
    assert shown[str(rejected.pk)] == 'answered "not a digit"'
    assert {shown[str(row.pk)] for row in filled["doubtful"]} == {"doubtful"}


def test_a_label_the_drawer_reports_later_makes_the_drawing_disputed(clients, filled):
    newest = filled["confident"][-1]
    newest.report((newest.digit + 1) % 10)
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    assert item["id"] == str(newest.pk) and item["tier"] == "disputed"


def query_plan(sql: str, barred: str = "sort") -> str:
    """The plan of a query; on PostgreSQL with the `barred` step (a sort, a seqscan) planned only where
    nothing else can be: on a test's few rows it costs next to nothing, and would be chosen."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL enable_{barred} = off")
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize("filters", [{}, {"digit": 3, "source": "canvas"}], ids=["all", "filtered"])
def test_the_next_drawing_is_read_off_an_index_in_order_not_sorted_out_of_the_backlog(clients, filled, filters):
    """A sort of every unreviewed row at each keypress grew with the backlog: about a second a keypress at
    300,000 drawings on SQLite."""
    skipped = str(filled["disputed"][-1].pk)
    with CaptureQueriesContext(connection) as captured:
        clients[0].post(NEXT, {**filters, "exclude": [skipped]}, content_type="application/json")
    [candidates] = [query["sql"] for query in captured.captured_queries
                    if '"true_label" IS NULL' in query["sql"] and "LIMIT" in query["sql"]]
    plan = query_plan(candidates)
    assert "review_queue_order" in plan and "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_progress_counts_the_labelled_and_what_is_left_to_this_reviewer(clients, filled, settings):
    settings.REVIEW_SECOND_OPINION_PERCENT = 100
    ada, grace = clients
    for _ in range(2):
        item = grace.post(NEXT, {}, content_type="application/json").json()["item"]
        response = grace.post(label_url(item["id"]), {"label": 1}, content_type="application/json")
    assert response.json()["progress"] == {"done": 2, "remaining": 7}
    # Both labels are owed a second opinion, by Ada; a drawing she holds is still left to her.
    assert ada.post(NEXT, {}, content_type="application/json").json()["progress"] == {"done": 2, "remaining": 9}
    upload = filled["confident"][0]
    Prediction.objects.filter(pk=upload.pk).update(source=Prediction.Source.UPLOAD)
    for client in clients:
        response = client.post(NEXT, {"source": "upload"}, content_type="application/json").json()
        assert response["progress"] == {"done": 0, "remaining": 1}


def test_a_label_is_saved_at_once_with_its_reviewer_and_time(clients, reviewers, filled):
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    before = timezone.now()
    response = clients[0].post(label_url(item["id"]), {"label": 7}, content_type="application/json")
    assert response.status_code == 200 and response.json()["progress"] == {"done": 1, "remaining": 8}
    stored = Prediction.objects.get(pk=item["id"])
    assert stored.true_label == 7 and stored.reviewed_by == reviewers[0]
    assert before <= stored.reviewed_at <= timezone.now()
    assert not ReviewLease.objects.filter(prediction=stored).exists()


def test_x_stores_not_a_digit(clients, filled):
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    clients[0].post(label_url(item["id"]), {"label": NOT_A_DIGIT}, content_type="application/json")
    assert Prediction.objects.get(pk=item["id"]).true_label == NOT_A_DIGIT


NO_INTEGER = "label must be an integer 0-10 or null"
NO_LABEL = "the body must be a JSON object with a label: 0-10, or null to undo"


@pytest.mark.parametrize("body, error", [
    ({"label": 11}, "a label is 0 to 9, or 10 for not a digit; not 11"),
    ({"label": -1}, "a label is 0 to 9, or 10 for not a digit; not -1"),
    ({"label": "7"}, NO_INTEGER), ({"label": True}, NO_INTEGER), ({"label": 2.5}, NO_INTEGER),
    ({"label": 7.0}, NO_INTEGER), ({}, NO_LABEL), ({"revision": 0}, NO_LABEL),
    ({"label": 11, "revision": "0"}, "revision must be the integer the drawing was shown with"),
])
def test_a_bad_label_is_refused_and_changes_nothing(clients, filled, body, error):
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    response = clients[0].post(label_url(item["id"]), body, content_type="application/json")
    assert response.status_code == 400 and response.json() == {"error": error}
    assert Prediction.objects.get(pk=item["id"]).true_label is None


def test_undo_clears_the_label_and_gives_the_drawing_back(clients, reviewers, filled):
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    clients[0].post(label_url(item["id"]), {"label": 4}, content_type="application/json")
    response = clients[0].post(label_url(item["id"]), {"label": None}, content_type="application/json")
    assert response.status_code == 200 and response.json()["item"]["id"] == item["id"]
    stored = Prediction.objects.get(pk=item["id"])
    assert stored.true_label is None and stored.reviewed_by is None and stored.reviewed_at is None
    assert ReviewLease.objects.get(prediction=stored).reviewer == reviewers[0]
    other = clients[1].post(NEXT, {}, content_type="application/json").json()["item"]
    assert other["id"] != item["id"]


def test_two_reviewers_never_get_the_same_drawing(clients, filled):
    shown = {0: set(), 1: set()}
    for _ in range(4):
        for index, client in enumerate(clients):
            item = client.post(NEXT, {}, content_type="application/json").json()["item"]
            shown[index].add(item["id"])
            # Neither releases: each keeps its drawings leased, as pages left open do.
    assert len(shown[0]) == len(shown[1]) == 4
    assert not shown[0] & shown[1]
    held = ReviewLease.objects.filter(prediction_id__in=shown[0]).values_list("reviewer__username", flat=True)
    assert set(held) == {"ada"}


def test_a_reviewer_whose_first_picks_others_lease_that_instant_still_gets_a_drawing(reviewers, mnist_test, settings,
                                                                                   monkeypatch):
    """Ten collisions in a row, as a room of reviewers pressing keys at once makes: the queue said nothing was left."""
    settings.REVIEW_SETTLE_SECONDS = 0
    rows = [record_drawing(mnist_test.images[i]) for i in range(queue.LEASE_ATTEMPTS + 2)]
    lease = ReviewLease.objects.create
    collided = []

    def leased_by_another_that_instant(**fields):
        if len(collided) < queue.LEASE_ATTEMPTS:
            collided.append(fields["prediction"].pk)
            lease(**{**fields, "reviewer": reviewers[1]})
        return lease(**fields)

    monkeypatch.setattr(ReviewLease.objects, "create", leased_by_another_that_instant)
    taken = queue.take(reviewers[0])

    assert len(collided) == queue.LEASE_ATTEMPTS
    assert taken is not None and taken.pk in {row.pk for row in rows} - set(collided)
    assert ReviewLease.objects.get(prediction=taken).reviewer == reviewers[0]


def test_another_reviewers_drawing_cannot_be_labelled_until_its_lease_runs_out(clients, filled, settings):
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    response = clients[1].post(label_url(item["id"]), {"label": 2}, content_type="application/json")
    assert response.status_code == 409
    assert Prediction.objects.get(pk=item["id"]).true_label is None
    ReviewLease.objects.filter(prediction_id=item["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert clients[1].post(NEXT, {}, content_type="application/json").json()["item"]["id"] == item["id"]


def test_a_late_label_does_not_overwrite_the_label_another_reviewer_gave_meanwhile(clients, reviewers, filled,
                                                                                   settings):
    """Ada's page outlived her lease; Grace took the drawing and labelled it. Ada's label then is refused.
    (Had Grace's label drawn the drawing for a second opinion, Ada's would rightly be that opinion.)"""
    settings.REVIEW_SECOND_OPINION_PERCENT = 0
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    ReviewLease.objects.filter(prediction_id=item["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert clients[1].post(NEXT, {}, content_type="application/json").json()["item"]["id"] == item["id"]
    assert clients[1].post(label_url(item["id"]), {"label": 3}, content_type="application/json").status_code == 200
    for late in (5, None):
        response = clients[0].post(label_url(item["id"]), {"label": late}, content_type="application/json")
        assert response.status_code == 409 and "labelled this drawing meanwhile" in response.json()["error"]
        assert "redrawn" not in response.json()
    stored = Prediction.objects.get(pk=item["id"])
    assert (stored.true_label, stored.reviewed_by) == (3, reviewers[1])


@pytest.mark.parametrize("percent", [0, 100], ids=["no second opinion drawn", "a second opinion drawn"])
def test_a_page_that_outlived_its_lease_moves_on_once_another_reviewer_labelled_it(
        clients, reviewers, filled, settings, django_user_model, percent):
    """Ada's page renews after Grace took and labelled the drawing: it is told so and goes on, and holds no
    lease that would keep a second opinion from the reviewer it is owed to."""
    settings.REVIEW_SECOND_OPINION_PERCENT = percent
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    ReviewLease.objects.filter(prediction_id=item["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert clients[1].post(NEXT, {}, content_type="application/json").json()["item"]["id"] == item["id"]
    assert clients[1].post(label_url(item["id"]), {"label": 3}, content_type="application/json").status_code == 200

    renewed = clients[0].post(f"/review/queue/{item['id']}/lease/", {"second_opinion": False},
                              content_type="application/json")

    assert renewed.status_code == 409 and "labelled this drawing meanwhile" in renewed.json()["error"]
    assert not ReviewLease.objects.filter(prediction_id=item["id"]).exists()
    if percent:
        from django.test import Client
        bob = logged_in(Client, make_user(django_user_model, "bob", staff=True, permissions=REVIEWER_PERMISSIONS))
        offered = bob.post(NEXT, {}, content_type="application/json").json()["item"]
        assert offered["id"] == item["id"] and offered["second_opinion"]


def test_a_page_showing_a_second_opinion_keeps_it_until_another_gives_it(clients, reviewers, filled, settings,
                                                                        django_user_model):
    settings.REVIEW_SECOND_OPINION_PERCENT = 100
    first = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    clients[0].post(label_url(first["id"]), {"label": 3}, content_type="application/json")
    second = clients[1].post(NEXT, {}, content_type="application/json").json()["item"]
    assert second["id"] == first["id"] and second["second_opinion"]
    lease = f"/review/queue/{first['id']}/lease/"
    assert clients[1].post(lease, {"second_opinion": True}, content_type="application/json").status_code == 200

    ReviewLease.objects.filter(prediction_id=first["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    queue.save_label(first["id"], make_user(django_user_model, "bob", staff=True, permissions=REVIEWER_PERMISSIONS), 5)

    assert clients[1].post(lease, {"second_opinion": True}, content_type="application/json").status_code == 409


@pytest.mark.parametrize("body", [{"digit": "²"}, {"model_version": "²"}, {"digit": "1" * 5000},
                                  {"model_version": "1" * 5000}, {"exclude": ["not-a-uuid", 5]},
                                  {"exclude": 5}, {"exclude": {"a": 1}}])
def test_filters_and_exclusions_the_page_never_sends_are_ignored(clients, filled, body):
    response = clients[0].post(NEXT, body, content_type="application/json")
    assert response.status_code == 200 and response.json()["item"] is not None
    query = "&".join(f"{key}={value}" for key, value in body.items() if key != "exclude")
    assert clients[0].get(f"{PAGE}?{query}").status_code == 200


@pytest.mark.parametrize("body, error", [
    ("[" * 20_000 + "]" * 20_000, "the body is not JSON: the document is nested too deeply"),
    ('{"label": 3, ' + '"k": 1, ' * 100 + '"z": 0}', "the body is not JSON: an object has 102 keys; the limit is 64"),
    (b"\xff\xfe{}", "the body is not JSON: "), ('{"digit": 3', "the body is not JSON: "),
    ("[3]", "the body must be a JSON object"),
], ids=["nested too deep", "too many keys", "not UTF-8", "cut short", "no object"])
def test_a_body_that_is_no_json_object_is_a_400_that_says_so(clients, filled, body, error):
    """Nesting too deep for Python's parser was a 500; then every such body was read as an empty object,
    and the next drawing came unfiltered, as if no filter had been sent."""
    drawing = filled["disputed"][0]
    for url in (NEXT, label_url(drawing.pk), f"/review/queue/{drawing.pk}/lease/"):
        response = clients[0].post(url, body, content_type="application/json")
        assert response.status_code == 400 and response.json()["error"].startswith(error), (url, response.content)
    assert not ReviewLease.objects.exists()


def test_renewing_the_lease_of_a_deleted_drawing_is_404(clients, filled):
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    Prediction.objects.get(pk=item["id"]).discard()
    for prediction_id in (item["id"], "00000000-0000-0000-0000-000000000000"):
        response = clients[0].post(f"/review/queue/{prediction_id}/lease/", content_type="application/json")
        assert response.status_code == 404


def test_skip_releases_and_is_not_offered_again_in_the_session(clients, filled):
    first = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    assert clients[0].post(f"/review/queue/{first['id']}/release/", content_type="application/json").status_code == 200
    after_skip = clients[0].post(NEXT, {"exclude": [first["id"]]}, content_type="application/json").json()["item"]
    assert after_skip["id"] != first["id"]
    assert clients[1].post(NEXT, {}, content_type="application/json").json()["item"]["id"] == first["id"]


def test_renewing_keeps_the_lease(clients, filled):
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    ReviewLease.objects.filter(prediction_id=item["id"]).update(expires_at=timezone.now() + timedelta(seconds=1))
    assert clients[0].post(f"/review/queue/{item['id']}/lease/", content_type="application/json").status_code == 200
    assert ReviewLease.objects.get(prediction_id=item["id"]).expires_at > timezone.now() + timedelta(seconds=30)
    assert clients[1].post(f"/review/queue/{item['id']}/lease/", content_type="application/json").status_code == 409


def test_renewing_a_drawing_its_drawer_changed_gives_it_as_it_is_now(clients, filled, mnist_test):
    """The page kept showing the old version, renewal after renewal, until a label spent on it was refused."""
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    lease = f"/review/queue/{item['id']}/lease/"
    assert "item" not in clients[0].post(lease, {"revision": item["revision"]}, content_type="application/json").json()
    redraw_as(Prediction.objects.get(pk=item["id"]), mnist_test.images[4])
    renewed = clients[0].post(lease, {"revision": item["revision"]}, content_type="application/json").json()
    assert renewed["item"]["id"] == item["id"] and renewed["item"]["revision"] == item["revision"] + 1
    assert renewed["item"]["input"] != item["input"]
    assert "item" not in clients[0].post(lease, {"revision": item["revision"] + 1},
                                         content_type="application/json").json()


def test_filters_by_predicted_digit_version_and_source(clients, filled):
    target = filled["confident"][1]
    Prediction.objects.filter(pk=target.pk).update(source=Prediction.Source.UPLOAD)
    item = clients[0].post(NEXT, {"source": "upload"}, content_type="application/json").json()["item"]
    assert item["id"] == str(target.pk)
    digit = filled["doubtful"][0].digit
    expected = {str(row.pk) for rows in filled.values() for row in rows if row.digit == digit and row.pk != target.pk}
    body = {"digit": digit, "model_version": filled["doubtful"][0].model_version_id}
    found = set()

    def ask():
        return clients[1].post(NEXT, {**body, "exclude": list(found)}, content_type="application/json").json()["item"]

    for item in until_none(ask):
        found.add(item["id"])
    assert found == expected


def test_second_opinions_go_to_another_reviewer_and_disagreements_reach_the_dashboard(
        clients, reviewers, filled, settings):
    settings.REVIEW_SECOND_OPINION_PERCENT = 100
    first = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    clients[0].post(label_url(first["id"]), {"label": 3}, content_type="application/json")
    opinion = SecondOpinion.objects.get(prediction_id=first["id"])
    assert (opinion.first_reviewer, opinion.first_label, opinion.label) == (reviewers[0], 3, None)

    # Never back to the one who labelled it; first in the other reviewer's queue.
    assert clients[0].post(NEXT, {}, content_type="application/json").json()["item"]["id"] != first["id"]
    second = clients[1].post(NEXT, {}, content_type="application/json").json()["item"]
    assert second["id"] == first["id"] and second["second_opinion"]
    clients[1].post(label_url(first["id"]), {"label": 5}, content_type="application/json")
    opinion.refresh_from_db()
    assert (opinion.reviewer, opinion.label) == (reviewers[1], 5)
    assert Prediction.objects.get(pk=first["id"]).true_label == 3, "a second opinion does not overwrite the first"

    page = clients[0].get("/review/")
    assert [o.pk for o in page.context["second_opinion_disagreements"]] == [opinion.pk]
    assert page.context["reviewer_agreement"] == [
        {"reviewer": "ada", "compared": 1, "agreed": 0, "rate": 0.0},
        {"reviewer": "grace", "compared": 1, "agreed": 0, "rate": 0.0}]


def test_a_first_label_undone_and_given_again_keeps_its_second_opinion(clients, reviewers, filled, settings):
    settings.REVIEW_SECOND_OPINION_PERCENT = 100
    first = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    clients[0].post(label_url(first["id"]), {"label": 2}, content_type="application/json")
    assert clients[1].post(NEXT, {}, content_type="application/json").json()["item"]["id"] == first["id"]
    clients[1].post(label_url(first["id"]), {"label": 8}, content_type="application/json")
    for again in (None, 7):
        response = clients[0].post(label_url(first["id"]), {"label": again}, content_type="application/json")
        assert response.status_code == 200
    opinion = SecondOpinion.objects.get(prediction_id=first["id"])
    assert (opinion.first_label, opinion.label, opinion.reviewer) == (7, 8, reviewers[1])
    assert Prediction.objects.get(pk=first["id"]).true_label == 7


def test_a_second_reviewer_who_gives_the_first_label_after_an_undo_is_not_her_own_check(clients, reviewers, filled,
                                                                                      settings):
    settings.REVIEW_SECOND_OPINION_PERCENT = 100
    ada, grace = clients
    first = ada.post(NEXT, {}, content_type="application/json").json()["item"]["id"]
    ada.post(label_url(first), {"label": 3}, content_type="application/json")
    assert grace.post(NEXT, {}, content_type="application/json").json()["item"]["id"] == first
    grace.post(label_url(first), {"label": 5}, content_type="application/json")
    ada.post(label_url(first), {"label": None}, content_type="application/json")
    ada.post(f"/review/queue/{first}/release/", {}, content_type="application/json")
    assert grace.post(NEXT, {}, content_type="application/json").json()["item"]["id"] == first
    assert grace.post(label_url(first), {"label": 5}, content_type="application/json").status_code == 200
    opinion = SecondOpinion.objects.get(prediction_id=first)
    # Drawn anew, for another reviewer to give.
    assert (opinion.first_reviewer, opinion.first_label, opinion.reviewer, opinion.label) == (reviewers[1], 5, None, None)


def tables_in_order(queries) -> list[str]:
    """The tables the captured queries read or write, first touch first."""
    tables = []
    for query in queries:
        for table in re.findall(r'(?:FROM|UPDATE|INTO) "(recognizer_\w+)"', query["sql"]):
            if table not in tables:
                tables.append(table)
    return tables


@pytest.mark.django_db(transaction=True)
def test_a_label_locks_the_drawing_before_its_lease_as_renewing_and_deleting_do(reviewers, filled):
    """Taken in opposite orders, the locks of a label and of the page's lease renewal (or the drawer's
    delete) deadlocked on PostgreSQL."""
    drawing = filled["confident"][0]
    orders = []
    for work in (lambda: queue.renew(drawing.pk, reviewers[0]), lambda: queue.save_label(drawing.pk, reviewers[0], 7),
                 lambda: queue.save_label(drawing.pk, reviewers[0], None),
                 lambda: Prediction.objects.get(pk=drawing.pk).discard()):
        with CaptureQueriesContext(connection) as captured:
            work()
        touched = tables_in_order(captured.captured_queries)
        orders.append([table for table in touched if table in ("recognizer_prediction", "recognizer_reviewlease")])
    assert orders == [["recognizer_prediction", "recognizer_reviewlease"]] * 4


def test_no_second_opinion_at_zero_percent(clients, filled, settings):
    settings.REVIEW_SECOND_OPINION_PERCENT = 0
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    clients[0].post(label_url(item["id"]), {"label": 3}, content_type="application/json")
    assert not SecondOpinion.objects.exists()


def test_view_only_staff_cannot_open_the_queue_or_label(client, django_user_model, filled):
    viewer = make_user(django_user_model, "viewer", staff=True, permissions=("view_prediction",))
    client.login(username=viewer.username, password=PASSWORD)
    target = filled["disputed"][0]
    page = client.get(PAGE)
    # Said on the page: a bare "403 Forbidden" told a new reviewer nothing of what they lack.
    assert page.status_code == 403 and "the permission to change predictions" in page.content.decode()
    for refused in (client.post(NEXT, {}, content_type="application/json"),
                    client.post(label_url(target.pk), {"label": 1}, content_type="application/json")):
        # The queue's script shows the error: a bare "forbidden" told a reviewer whose permission was taken away
        # nothing of why their labels were refused.
        assert refused.status_code == 403
        assert refused.json()["error"] == ("this page needs the permission to change predictions, which your "
                                           "account does not have")
    assert Prediction.objects.get(pk=target.pk).true_label is None


def test_anonymous_is_sent_to_log_in(client, filled):
    response = client.post(NEXT, {}, content_type="application/json")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_item_carries_what_the_reviewer_needs(clients, filled):
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    row = Prediction.objects.get(pk=item["id"])
    assert item["input"].startswith("data:image/png;base64,") and item["image_url"] == row.image.url
    assert item["reported_label"] == row.reported_label and item["tier"] == "disputed"
    assert [entry["digit"] for entry in item["top3"]] == [entry["digit"] for entry in row.top3]
    saliency = clients[0].get(f"/review/queue/{item['id']}/saliency.png")
    assert saliency.status_code == 200 and saliency["Content-Type"] == "image/png"


def test_the_saliency_of_an_older_version_s_drawings_loads_its_model_once(clients, filled, settings, monkeypatch):
    older = ModelVersion.objects.register(Path(settings.MODELS_DIR) / "mnist_cnn_v4.pt", name="older")
    Prediction.objects.update(model_version=older)
    monkeypatch.setattr(inference.model_cache, "retired", OrderedDict())
    loads = []
    load = ModelVersion.load
    monkeypatch.setattr(ModelVersion, "load", lambda version: loads.append(version.name) or load(version))
    for row in Prediction.objects.all()[:3]:
        saliency = clients[0].get(f"/review/queue/{row.pk}/saliency.png")
        assert saliency.status_code == 200 and saliency["Content-Type"] == "image/png"
    assert loads.count("older") == 1


def test_linked_from_the_admin_index_and_the_dashboard(clients):
    assert f'href="{PAGE}"' in clients[0].get("/admin/").content.decode()
    assert f'href="{PAGE}"' in clients[0].get("/review/").content.decode()


def test_reviewer_pages_answer_head_and_no_cache_keeps_them(clients, filled):
    """Like the admin's: a monitor's HEAD was a 405, and nothing told a shared cache to keep none."""
    for path in ("/review/", PAGE):
        response = clients[0].head(path)
        assert response.status_code == 200 and "no-store" in response["Cache-Control"], path
    response = clients[0].post(NEXT, {}, content_type="application/json")
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_a_label_for_a_drawing_its_drawer_changed_after_it_was_shown_is_refused(clients, filled, mnist_test):
    """Newest first, the queue shows drawings still being drawn: a half-drawn 4 labelled "not a digit"
    kept that label once it was a 4, and trained the model on it."""
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    assert item["revision"] == 0
    redraw_as(Prediction.objects.get(pk=item["id"]), mnist_test.images[4])

    response = clients[0].post(label_url(item["id"]), {"label": NOT_A_DIGIT, "revision": item["revision"]},
                               content_type="application/json")

    assert response.status_code == 409 and "changed this drawing" in response.json()["error"]
    # The page tells it from refusals for good: undone, such a drawing comes back to be labelled.
    assert response.json()["redrawn"] is True
    assert Prediction.objects.get(pk=item["id"]).true_label is None
    assert not ReviewLease.objects.filter(prediction_id=item["id"]).exists()
    again = clients[0].post(label_url(item["id"]), {"label": 4, "revision": 1}, content_type="application/json")
    assert again.status_code == 200 and Prediction.objects.get(pk=item["id"]).true_label == 4


@pytest.mark.parametrize("bad", ["0", True, 1.5, [0], -5])
def test_a_revision_that_is_no_count_of_changes_is_refused(clients, filled, bad):
    """-5 was taken for a drawing changed since it was shown (a 409), and its lease let go."""
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    response = clients[0].post(label_url(item["id"]), {"label": 3, "revision": bad}, content_type="application/json")
    assert response.status_code == 400 and Prediction.objects.get(pk=item["id"]).true_label is None
    assert response.json() == {"error": "revision must be the integer the drawing was shown with"}


def test_a_revision_the_drawing_has_not_reached_is_refused_as_made_up(clients, filled):
    """Taken for a drawing changed since it was shown: a 409 saying its drawer changed it, and its lease let go."""
    item = clients[0].post(NEXT, {}, content_type="application/json").json()["item"]
    response = clients[0].post(label_url(item["id"]), {"label": 3, "revision": 999}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "revision must be the integer the drawing was shown with"}
    assert Prediction.objects.get(pk=item["id"]).true_label is None
    assert ReviewLease.objects.filter(prediction_id=item["id"]).exists()


def test_a_redrawn_drawing_loses_the_labels_given_to_its_older_version(clients, reviewers, filled, mnist_test,
                                                                         settings):
    settings.REVIEW_SECOND_OPINION_PERCENT = 100
    row = filled["disputed"][0]
    assert clients[0].post(label_url(row.pk), {"label": 5}, content_type="application/json").status_code == 200
    assert SecondOpinion.objects.filter(prediction=row).exists()

    redraw_as(Prediction.objects.get(pk=row.pk), mnist_test.images[4])

    stored = Prediction.objects.get(pk=row.pk)
    assert (stored.revision, stored.reported_label, stored.true_label, stored.reviewed_by, stored.reviewed_at) == \
        (1, None, None, None, None)
    assert not SecondOpinion.objects.filter(prediction=row).exists()
    assert stored.tier != Prediction.Tier.DISPUTED


def test_a_drawing_is_offered_once_its_drawer_has_left_it_alone(clients, filled, mnist_test, settings):
    """Newest first, the queue offered drawings still being drawn, whose labels their next stroke undid."""
    settings.REVIEW_SETTLE_SECONDS = 30
    older = Prediction.objects.all()
    Prediction.objects.update(updated_at=timezone.now() - timedelta(seconds=31))
    fresh = record_drawing(mnist_test.images[20])
    offered = [clients[0].post(NEXT, {}, content_type="application/json").json()["item"] for _ in range(10)]
    assert [item["id"] for item in offered if item] == [str(row.pk) for row in sorted(
        older.exclude(pk=fresh.pk), key=lambda row: (row.tier, -row.created_at.timestamp()))]
    assert offered[-1] is None
    Prediction.objects.filter(pk=fresh.pk).update(updated_at=timezone.now() - timedelta(seconds=31))
    assert clients[0].post(NEXT, {}, content_type="application/json").json()["item"]["id"] == str(fresh.pk)


def test_the_next_drawing_after_a_label_leaves_the_counts_to_the_label_s_answer(clients, filled):
    """Each keypress counted the drawings twice, in the label's answer and the next one's: on PostgreSQL
    every count reads the whole index."""
    with CaptureQueriesContext(connection) as captured:
        answer = clients[0].post(NEXT, {"progress": False}, content_type="application/json").json()
    assert answer["item"] is not None and "progress" not in answer
    assert not [query for query in captured.captured_queries if "COUNT(" in query["sql"].upper()]
    counted = clients[0].post(NEXT, {"progress": "no"}, content_type="application/json").json()
    assert counted["progress"] == {"done": 0, "remaining": 9}


def test_the_queue_endpoints_answer_every_error_in_json(reviewers, clients, filled):
    """The queue's script reads every answer as JSON; Django's own errors were HTML pages it could not read."""
    from django.test import Client
    strict = logged_in(lambda: Client(enforce_csrf_checks=True), reviewers[0])
    drawing = filled["confident"][0]
    refused = strict.post(label_url(drawing.pk), {"label": 3}, content_type="application/json")
    assert refused.status_code == 403 and refused["Content-Type"] == "application/json"
    assert "security token" in refused.json()["error"]
    drawing.refresh_from_db()
    assert drawing.true_label is None

    for answer, status in ((clients[0].post("/review/queue/not-an-id/label/", {"label": 3},
                                            content_type="application/json"), 404),
                           (clients[0].get(NEXT), 405),
                           (clients[0].post("/review/queue/next/more/"), 404)):
        assert answer.status_code == status and answer["Content-Type"] == "application/json", answer
        assert answer.json()["error"]

    # The page itself, a signed-out script's redirect and other pages stay as they were.
    assert clients[0].get(PAGE)["Content-Type"].startswith("text/html")
    from django.test import Client as Anonymous
    assert Anonymous().post(NEXT, {}, content_type="application/json").status_code == 302
    assert Anonymous().get("/no-such-page/")["Content-Type"].startswith("text/html")


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_is_a_503_to_the_queue_as_to_the_api(clients, filled):
    """The queue's endpoints answered 500, the word for a bug, where the API says the database is away."""
    table = Prediction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        answers = [clients[0].post(NEXT, {}, content_type="application/json"),
                   clients[0].post(label_url(filled["disputed"][0].pk), {"label": 3}, content_type="application/json")]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
    for answer in answers:
        assert answer.status_code == 503 and answer.json()["error"].startswith("the database is unavailable")



def test_a_reloaded_page_is_given_its_drawing_back_whether_or_not_its_release_came_first(clients, filled):
    """The release a page sends as it leaves may come in after the reloaded page asks: it was given another."""
    ada, grace = clients
    shown = ada.post(NEXT, {}, content_type="application/json").json()["item"]["id"]
    again = ada.post(NEXT, {"resume": shown}, content_type="application/json").json()["item"]
    assert again["id"] == shown and ReviewLease.objects.filter(prediction_id=shown).count() == 1
    # Another reviewer's page cannot ask for it, nor a drawing labelled since be given back.
    assert grace.post(NEXT, {"resume": shown}, content_type="application/json").json()["item"]["id"] != shown
    ada.post(label_url(shown), {"label": 3}, content_type="application/json")
    assert ada.post(NEXT, {"resume": shown}, content_type="application/json").json()["item"]["id"] != shown
    # Let go first, it is given back all the same; a resume that names no drawing is no filter.
    other = ada.post(NEXT, {}, content_type="application/json").json()["item"]["id"]
    ada.post(f"/review/queue/{other}/release/", content_type="application/json")
    assert ada.post(NEXT, {"resume": other}, content_type="application/json").json()["item"]["id"] == other
    assert ada.post(NEXT, {"resume": "nothing"}, content_type="application/json").status_code == 200


def test_the_release_a_reloaded_page_sent_as_it_left_does_not_let_go_of_the_drawing_taken_back(clients, filled):
    """Coming in after the reloaded page took its drawing back, it deleted the lease: the drawing on show was
    anyone's until the page's next renewal."""
    ada, grace = clients
    shown = ada.post(NEXT, {"page": "aa11"}, content_type="application/json").json()["item"]["id"]
    assert ada.post(NEXT, {"resume": shown, "page": "bb22", "shown_by": "aa11"},
                    content_type="application/json").json()["item"]["id"] == shown
    ada.post(f"/review/queue/{shown}/release/", {"page": "aa11"}, content_type="application/json")
    assert ReviewLease.objects.get(prediction_id=shown).page == "bb22"
    assert grace.post(NEXT, {"resume": shown}, content_type="application/json").json()["item"]["id"] != shown
    ada.post(f"/review/queue/{shown}/release/", {"page": "bb22"}, content_type="application/json")
    assert not ReviewLease.objects.filter(prediction_id=shown).exists()


def test_a_drawing_another_of_the_reviewer_s_pages_holds_is_not_given_back(clients, filled):
    """A tab opened from a page that had left took its drawing, and the page come back with the browser's Back
    asked for it too: both showed it, and both labelled it."""
    ada, _ = clients
    shown = ada.post(NEXT, {"page": "aa11"}, content_type="application/json").json()["item"]["id"]
    ada.post(f"/review/queue/{shown}/release/", {"page": "aa11"}, content_type="application/json")
    opened = ada.post(NEXT, {"resume": shown, "page": "bb22", "shown_by": "aa11"}, content_type="application/json")
    assert opened.json()["item"]["id"] == shown
    back = ada.post(NEXT, {"resume": shown, "page": "aa11", "shown_by": "aa11"}, content_type="application/json")
    assert back.json()["item"]["id"] != shown
    assert ReviewLease.objects.get(prediction_id=shown).page == "bb22"
    # Nor may a third page name another as the one that showed it.
    third = ada.post(NEXT, {"resume": shown, "page": "cc33", "shown_by": "dd44"}, content_type="application/json")
    assert third.json()["item"]["id"] != shown


def test_a_drawing_open_in_another_tab_is_neither_renewed_nor_labelled_from_this_one(clients, filled):
    """A hidden tab whose lease ran out, its drawing given to another tab, took it back at its next renewal:
    both showed it, and both said "Saved"."""
    ada, _ = clients
    shown = ada.post(NEXT, {"page": "aa11"}, content_type="application/json").json()["item"]["id"]
    ReviewLease.objects.filter(prediction_id=shown).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ada.post(NEXT, {"page": "bb22"}, content_type="application/json").json()["item"]["id"] == shown
    for url, body in ((f"/review/queue/{shown}/lease/", {}), (label_url(shown), {"label": 4})):
        refused = ada.post(url, {**body, "page": "aa11"}, content_type="application/json")
        assert refused.status_code == 409 and refused.json()["error"] == "this drawing is open in another of your tabs"
    assert ReviewLease.objects.get(prediction_id=shown).page == "bb22"
    assert Prediction.objects.get(pk=shown).true_label is None
    assert ada.post(label_url(shown), {"label": 4, "page": "bb22"}, content_type="application/json").status_code == 200


def test_a_drawing_labelled_in_another_tab_is_neither_taken_back_nor_labelled_over(clients, filled):
    """A tab whose lease ran out while hidden took back, at its next renewal, the drawing another tab had just
    labelled, showed it unlabelled and labelled over it; the first tab's undo was refused."""
    ada, _ = clients
    shown = ada.post(NEXT, {"page": "aa11"}, content_type="application/json").json()["item"]["id"]
    ReviewLease.objects.filter(prediction_id=shown).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ada.post(NEXT, {"page": "bb22"}, content_type="application/json").json()["item"]["id"] == shown
    assert ada.post(label_url(shown), {"label": 5, "page": "bb22"}, content_type="application/json").status_code == 200
    for url, body in ((f"/review/queue/{shown}/lease/", {}), (label_url(shown), {"label": 3})):
        refused = ada.post(url, {**body, "page": "aa11"}, content_type="application/json")
        assert refused.status_code == 409
        assert refused.json()["error"] == "you labelled this drawing in another tab or the admin meanwhile"
    assert Prediction.objects.get(pk=shown).true_label == 5
    # The tab that labelled it may undo it, and label it again.
    assert ada.post(label_url(shown), {"label": None, "page": "bb22"}, content_type="application/json").status_code == 200
    assert ada.post(label_url(shown), {"label": 6, "page": "bb22"}, content_type="application/json").status_code == 200
    assert Prediction.objects.get(pk=shown).true_label == 6
