"""A write whose client has stopped waiting (nginx answers 503 at 30 s) stores nothing."""

import time

import pytest

from recognizer.models import Prediction

from .drawings import png
from .handwriting import DIGITS, as_sent
from .test_api import URL, _named, files_in
from .test_strokes_api import create, put, stored_state

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def behind_nginx(settings):
    """nginx stamps every request it passes on (deploy/nginx.conf); the stamp is believed only behind a proxy."""
    settings.NUM_PROXIES = 1


def arrived(seconds_ago: float) -> dict:
    """The stamp nginx puts on a request it received `seconds_ago`."""
    return {"X-Request-Start": f"t={time.time() - seconds_ago:.3f}"}


def post_seven(client, mnist_test, headers=None):
    return client.post(URL, {"image": _named(png(mnist_test.images[0]), "seven.png")}, headers=headers)


def test_a_drawing_that_waited_past_the_deadline_is_refused_and_stores_nothing(client, mnist_test, isolated_media,
                                                                              settings):
    # Nor does it count against the client's drawings for the day: it made none.
    settings.NEW_DRAWINGS_LIMIT = "1/day"
    response = post_seven(client, mnist_test, arrived(40))
    assert response.status_code == 503, response.content
    assert response.json()["error"] == ("the site was too busy to answer within 25 s; nothing was stored: "
                                        "send the drawing again")
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []
    assert post_seven(client, mnist_test, arrived(1)).status_code == 201


def test_an_update_past_the_deadline_leaves_the_record_as_it_was(client, isolated_media):
    created = create(client, as_sent(DIGITS[1]))
    before, files = stored_state(created["id"]), files_in(isolated_media)
    response = put(client, created, {"strokes": as_sent(DIGITS[7])},
                   headers={"HTTP_X_DRAWING_SECRET": created["secret"], "HTTP_X_REQUEST_START": arrived(40)["X-Request-Start"]})
    assert response.status_code == 503, response.content
    assert stored_state(created["id"]) == before and files_in(isolated_media) == files


def test_the_deadline_is_judged_as_the_row_is_committed(client, mnist_test, isolated_media, settings, monkeypatch):
    """Writing the file and the row may wait on a busy database: the time that takes counts too."""
    settings.REQUEST_DEADLINE_SECONDS = 1
    save = Prediction.save
    monkeypatch.setattr(Prediction, "save", lambda *args, **kwargs: time.sleep(1.2) or save(*args, **kwargs))
    response = post_seven(client, mnist_test)
    assert response.status_code == 503, response.content
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


@pytest.mark.parametrize("stamp", ["t=99999999999", "soon", "t=nan", "t=inf", ""])
def test_a_stamp_from_the_future_or_none_gives_no_longer_than_the_deadline(client, mnist_test, settings, stamp):
    settings.REQUEST_DEADLINE_SECONDS = 0
    response = post_seven(client, mnist_test, {"X-Request-Start": stamp})
    assert response.status_code == 503, response.content


def test_without_a_proxy_a_client_s_own_stamp_is_not_believed(client, mnist_test, isolated_media, settings):
    """An old stamp of the client's own had the site read the drawing and then answer "too busy", storing nothing."""
    settings.NUM_PROXIES = 0
    assert post_seven(client, mnist_test, {"X-Request-Start": "t=0"}).status_code == 201
    assert Prediction.objects.count() == 1
