"""The prediction API: answers, bad input, feedback, listing, health. Real model, real database, real files."""

import base64
import io
import itertools
import logging
import struct
import sys
import uuid
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import IntegrityError, connection
from PIL import Image

from mlcore import checkpoint
from mlcore.labels import NOT_A_DIGIT
from mnistsite import logs
from recognizer import access, inference
from recognizer.models import ModelVersion, Prediction, RateWindow
from recognizer import views
from recognizer.throttles import FixedWindowLimit, ImageRateThrottle
from recognizer.throttles import in_words

from .drawings import Style, encode, png, render

URL = "/api/predictions/"
pytestmark = pytest.mark.django_db


def files_in(media_root: Path) -> list[Path]:
    return [p for p in Path(media_root).rglob("*") if p.is_file()]


def post_file(client, content: bytes, name: str = "drawing.png", **extra):
    return client.post(URL, {"image": _named(content, name), **extra})


def _named(content: bytes, name: str):
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def post_json(client, payload):
    return client.post(URL, payload, content_type="application/json")


def owner(response) -> dict:
    """The header that proves a request comes from the prediction's creator."""
    return {"X-Drawing-Secret": response.json()["secret"]}


def url_path(url: str) -> str:
    return urlsplit(url).path


def data_url(content: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


@pytest.fixture
def seven(mnist_test):
    return mnist_test.images[0]   # the first MNIST test digit is a 7


def test_multipart_png_answers_every_field(client, seven, isolated_media):
    response = post_file(client, png(seven), source="upload")
    assert response.status_code == 201, response.content
    body = response.json()
    assert uuid.UUID(body["id"])
    assert body["digit"] == 7 and body["source"] == "upload"
    assert len(body["probabilities"]) == 10 and abs(sum(body["probabilities"]) - 1) < 1e-6
    assert body["confidence"] == max(body["probabilities"]) == body["top3"][0]["probability"]
    assert [t["digit"] for t in body["top3"]][0] == body["digit"]
    assert [t["probability"] for t in body["top3"]] == sorted((t["probability"] for t in body["top3"]), reverse=True)
    assert body["model_version"] == ModelVersion.objects.get(is_active=True).name
    assert body["created_at"] and body["reported_label"] is None and body["true_label"] is None
    assert len(body["secret"]) >= 43   # 256 random bits

    row = Prediction.objects.get(pk=body["id"])
    assert row.digit == 7 and row.input_array.shape == (28, 28) and row.input_array.max() > 200
    assert files_in(isolated_media) == [Path(row.image.path)]
    image = client.get(body["image_url"].removeprefix("http://testserver"))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(b"".join(image.streaming_content))) as served:
        assert served.format == "PNG" and served.tobytes() == render(seven).tobytes()


def test_a_json_data_url_is_read(client, seven):
    response = post_json(client, {"image": data_url(png(seven)), "source": "canvas"})
    assert response.status_code == 201 and response.json()["digit"] == 7
    assert Prediction.objects.get().source == "canvas"


@pytest.mark.parametrize("spelt", [lambda url: url.replace("data:image/png;base64", "DATA:IMAGE/PNG;BASE64"),
                                   lambda url: url.rstrip("=")], ids=["upper case", "unpadded"])
def test_a_data_url_spelt_otherwise_is_read(client, seven, spelt):
    """A data URL's scheme and ";base64" are in any case (RFC 2397), and base64 may leave off its padding: both
    were refused as "not valid base64"."""
    content = png(seven)
    if len(content) % 3 == 0:
        content += b"\0"   # after the PNG's end, as a phone may leave bytes: its base64 then ends with padding
    url = data_url(content)
    assert url.endswith("=")
    response = post_json(client, {"image": spelt(url)})
    assert response.status_code == 201 and response.json()["digit"] == 7, response.content


def test_a_jpeg_is_read_and_stored_as_jpeg(client, seven):
    response = post_file(client, encode(render(seven), "JPEG"), name="photo.jpg")
    assert response.status_code == 201 and response.json()["digit"] == 7
    assert url_path(response.json()["image_url"]).endswith(".jpg")


@pytest.mark.parametrize("style", [
    Style(canvas=8, digit_size=8), Style(canvas=2048, digit_size=1500),
    Style(ink="alpha"), Style(ink="light"), Style(ink="dark"),
])
def test_sizes_and_ink_conventions(client, seven, style):
    response = post_json(client, {"image": data_url(png(seven, style))})
    assert response.status_code == 201, response.content
    if style.canvas > 8:
        assert response.json()["digit"] == 7


def _truncated_png(seven):
    content = png(seven)
    return content[: len(content) // 2]


def _png_claiming(width: int, height: int) -> bytes:
    """A decompression bomb's calling card: a PNG header that claims a huge image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


BAD_INPUTS = {
    "not an image": (lambda d: {"image": _named(b"hello, this is text", "note.png")},
                     "not a PNG, JPEG or WebP"),
    "truncated": (lambda d: {"image": _named(_truncated_png(d), "cut.png")}, "truncated"),
    "gif": (lambda d: {"image": _named(encode(render(d), "GIF"), "anim.gif")}, "not a PNG, JPEG or WebP"),
    "empty file": (lambda d: {"image": _named(b"", "empty.png")}, "empty"),
    "too small": (lambda d: {"image": _named(encode(Image.new("L", (4, 4), 0)), "tiny.png")}, "4x4"),
    "too many pixels": (lambda d: {"image": _named(encode(Image.new("1", (9000, 20), 1)), "wide.png")}, "9000x20"),
    "decompression bomb": (lambda d: {"image": _named(_png_claiming(30000, 30000), "bomb.png")}, "too many pixels"),
    "blank": (lambda d: {"image": _named(encode(Image.new("RGB", (280, 280), "white")), "blank.png")}, "blank"),
    "wrong field": (lambda d: {"file": _named(png(d), "d.png")}, "image"),
    "missing field": (lambda d: {}, "send the drawing as `image` (a PNG, JPEG or WebP) or as `strokes`"),
    "empty form field": (lambda d: {"image": ""}, "the image is empty"),
    "bad source": (lambda d: {"image": _named(png(d), "d.png"), "source": "fax"},
                   "source: must be one of canvas, upload, api"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_multipart_input_is_a_clear_400_and_stores_nothing(client, seven, isolated_media, case):
    payload, message = BAD_INPUTS[case]
    response = client.post(URL, payload(seven))
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


@pytest.mark.parametrize("payload, message", [
    ({"image": "data:image/png;base64,@@@not-base64@@@"}, "base64"),
    ({"image": "data:image/png,rawbytes"}, "not base64-encoded"),
    ({"image": 42}, "PNG, JPEG or WebP"),
    ({"image": ["a"]}, "PNG, JPEG or WebP"),
    ({"image": None}, "null"),
    ({"image": ""}, "empty"),
    ({"picture": "data:image/png;base64,AAAA"}, "unknown field"),
    (["not", "an", "object"], "dictionary"),
])
def test_bad_json_input_is_a_clear_400(client, isolated_media, payload, message):
    response = post_json(client, payload)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


def test_an_image_sent_twice_in_one_upload_is_a_400(client, seven, mnist_test, isolated_media):
    """Of two images in one multipart body, one was read and the other dropped unseen."""
    images = [_named(png(seven), "seven.png"), _named(png(mnist_test.images[1]), "two.png")]
    response = client.post(URL, {"image": images})
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "image: given more than once; send it once"
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


def test_malformed_json_is_400(client):
    response = client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["error"]


def test_an_image_over_the_byte_limit_is_a_400(client, seven, settings, isolated_media):
    settings.MAX_IMAGE_BYTES = 2000
    response = post_file(client, png(seven, Style(canvas=1000, digit_size=800)))
    assert response.status_code == 400 and "limit" in response.json()["error"]
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


def test_a_body_over_the_request_limit_is_a_413(client, seven, settings, isolated_media):
    settings.MAX_REQUEST_BYTES = 1000
    response = post_json(client, {"image": data_url(png(seven))})
    assert response.status_code == 413 and "limit" in response.json()["error"]
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


def test_throttle_answers_429(client, seven, settings, monkeypatch):
    settings.PREDICTION_RATE_LIMIT = "2/minute"
    # One fixed moment, so the three posts cannot straddle two windows of the limit.
    monkeypatch.setattr(FixedWindowLimit, "timer", lambda self: 1_800_000_030.0)
    responses = [post_file(client, png(seven)) for _ in range(3)]
    assert [response.status_code for response in responses] == [201, 201, 429]
    refused = client.post(URL, {})
    assert refused.json()["error"] == "too many requests from this address; try again in 30 seconds"
    assert refused["Retry-After"] == "30"
    # Reading is not throttled.
    assert client.get(f"{URL}{responses[0].json()['id']}/", headers=owner(responses[0])).status_code == 200
    assert Prediction.objects.count() == 2


def test_images_are_limited_apart_from_strokes(client, seven, settings, monkeypatch):
    """Reading an image costs up to 350 ms of CPU, strokes at most 80: at the writes' limit alone, one address
    uploading images kept most of a core busy (41 CPU-seconds a minute, an audit measured)."""
    settings.IMAGE_RATE_LIMIT = "2/minute"
    monkeypatch.setattr(FixedWindowLimit, "timer", lambda self: 1_800_000_030.0)
    images = [post_file(client, png(seven)) for _ in range(2)]
    as_data_url = post_json(client, {"image": data_url(png(seven))})
    update = client.put(f"{URL}{images[0].json()['id']}/", {"image": data_url(png(seven))},
                        content_type="application/json", headers=owner(images[0]))
    strokes = [{"pointer": "mouse", "points": [[0.5, 0.2, 0, 0.5], [0.5, 0.8, 90, 0.5]]}]
    drawn = post_json(client, {"strokes": strokes})
    redrawn = client.put(f"{URL}{images[0].json()['id']}/", {"strokes": strokes}, content_type="application/json",
                         headers=owner(images[0]))
    assert [r.status_code for r in (*images, as_data_url, update, drawn, redrawn)] == [201, 201, 429, 429, 201, 200]
    assert as_data_url.json()["error"] == "too many requests from this address; try again in 30 seconds"
    assert Prediction.objects.count() == 3


def test_an_upload_that_costs_several_photos_counts_as_several(client, seven, settings, monkeypatch):
    """IMAGE_RATE_LIMIT is sized on photos of up to 350 ms of CPU: a screenshot of a grid of four photos, each read
    every way, cost 1.3 to 1.5 s, and at the limit one address kept most of a core busy again (42 CPU-seconds a
    minute). Here each reading takes 1.2 s: three more photos' worth."""
    settings.IMAGE_RATE_LIMIT = "4/minute"
    monkeypatch.setattr(FixedWindowLimit, "timer", lambda self: 1_800_000_030.0)
    ticks = itertools.count(0, 1.2)
    monkeypatch.setattr(ImageRateThrottle, "clock", staticmethod(lambda: next(ticks)))
    strokes = [{"pointer": "mouse", "points": [[0.5, 0.2, 0, 0.5], [0.5, 0.8, 90, 0.5]]}]
    first = post_file(client, png(seven))
    second = post_file(client, png(seven))
    drawn = [post_json(client, {"strokes": strokes}) for _ in range(2)]
    assert [r.status_code for r in (first, second, *drawn)] == [201, 429, 201, 201]
    assert Prediction.objects.count() == 3


def test_new_drawings_are_limited_by_the_day_and_updates_are_not(client, settings, monkeypatch):
    settings.NEW_DRAWINGS_LIMIT = "2/day"
    monkeypatch.setattr(FixedWindowLimit, "timer", lambda self: 1_800_000_030.0)   # 16 hours before the day ends
    strokes = [{"pointer": "mouse", "points": [[0.5, 0.2, 0, 0.5], [0.5, 0.8, 90, 0.5]]}]
    created = [post_json(client, {"strokes": strokes}) for _ in range(3)]
    assert [response.status_code for response in created] == [201, 201, 429]
    assert created[2].json()["error"] == "too many requests from this address; try again in 16 hours"
    updated = client.put(f"{URL}{created[0].json()['id']}/", {"strokes": strokes}, content_type="application/json",
                         headers=owner(created[0]))
    assert updated.status_code == 200 and Prediction.objects.count() == 2


def test_a_server_whose_clock_is_ahead_does_not_forget_the_windows_others_count_in():
    """Two servers, one 20 s ahead: it deleted the window the other was counting in at each of its clients'
    first hits, and a client going between them made three times the limit."""
    behind, ahead = FixedWindowLimit("3/minute"), FixedWindowLimit("3/minute")
    behind.timer, ahead.timer = (lambda: 1_800_000_050.0), (lambda: 1_800_000_070.0)
    assert [behind.hit("192.0.2.1") for _ in range(3)] == [True] * 3
    assert ahead.hit("192.0.2.2")   # another client's first hit in the ahead server's new window
    assert not behind.hit("192.0.2.1")


def test_only_drawings_made_count_against_the_day(client, settings, monkeypatch):
    """Requests refused by the rate limit, bad requests and tries sent again make no drawing: counted
    for the day, eight posts in a burst locked their client out for 16 hours after three drawings."""
    settings.PREDICTION_RATE_LIMIT = "3/minute"
    settings.NEW_DRAWINGS_LIMIT = "6/day"
    now = [1_800_000_030.0]
    monkeypatch.setattr(FixedWindowLimit, "timer", lambda self: now[0])
    strokes = [{"pointer": "mouse", "points": [[0.5, 0.2, 0, 0.5], [0.5, 0.8, 90, 0.5]]}]
    burst = [post_json(client, {"strokes": strokes}) for _ in range(8)]
    assert [response.status_code for response in burst] == [201] * 3 + [429] * 5
    assert "30 seconds" in burst[-1].json()["error"]

    now[0] += 60
    bad = post_json(client, {"strokes": []})
    key = {"Idempotency-Key": "a" * 32}
    first, again = (client.post(URL, {"strokes": strokes}, content_type="application/json", headers=key)
                    for _ in range(2))
    assert (bad.status_code, first.status_code, again.status_code) == (400, 201, 200)

    now[0] += 60
    made = [post_json(client, {"strokes": strokes}) for _ in range(3)]
    assert [response.status_code for response in made] == [201, 201, 429]
    assert made[2].json()["error"] == "too many requests from this address; try again in 16 hours"
    assert Prediction.objects.count() == 6


def test_a_try_that_finds_its_drawing_made_meanwhile_does_not_count_against_the_day(client, settings, monkeypatch):
    """Two tries with one key at once: both find no drawing yet, the later one updates what the first made."""
    settings.NEW_DRAWINGS_LIMIT = "2/day"
    seen_before = access.sent_before
    strokes = [{"pointer": "mouse", "points": [[0.5, 0.2, 0, 0.5], [0.5, 0.8, 90, 0.5]]}]
    key = {"Idempotency-Key": "b" * 32}
    first = client.post(URL, {"strokes": strokes}, content_type="application/json", headers=key)
    monkeypatch.setattr(access, "sent_before", lambda idempotency_key: (None, seen_before(idempotency_key)[1]))
    again = client.post(URL, {"strokes": strokes}, content_type="application/json", headers=key)
    assert (first.status_code, again.status_code) == (201, 200) and again.json()["id"] == first.json()["id"]
    assert post_json(client, {"strokes": strokes}).status_code == 201


@pytest.mark.parametrize("seconds, words", [(0.2, "1 second"), (30, "30 seconds"), (89, "89 seconds"),
                                             (90, "2 minutes"), (5399, "90 minutes"), (5400, "2 hours")])
def test_a_wait_is_said_in_words(seconds, words):
    assert in_words(seconds) == words


def test_a_forged_forwarded_for_header_does_not_dodge_the_limit(client, seven, settings):
    settings.PREDICTION_RATE_LIMIT = "2/hour"
    statuses = [client.post(URL, {"image": _named(png(seven), "d.png")}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
                for n in range(3)]
    assert statuses == [201, 201, 429]


def test_feedback_counts_against_the_limit(client, seven, settings):
    settings.PREDICTION_RATE_LIMIT = "2/hour"
    created = post_file(client, png(seven))
    prediction = created.json()["id"]
    feedback = client.post(f"{URL}{prediction}/feedback/", {"label": 7}, content_type="application/json",
                           headers=owner(created))
    again = client.post(f"{URL}{prediction}/feedback/", {"label": 1}, content_type="application/json",
                        headers=owner(created))
    assert (feedback.status_code, again.status_code) == (200, 429)
    assert Prediction.objects.get(pk=prediction).reported_label == 7


def test_multi_picture_jpeg_is_read(client, seven):
    """Some phone cameras write JPEGs holding several pictures (MPO); the first is the drawing."""
    buffer = io.BytesIO()
    render(seven).save(buffer, "MPO", save_all=True, append_images=[render(seven, Style(ink="light"))])
    response = post_file(client, buffer.getvalue(), name="photo.jpg")
    assert response.status_code == 201, response.content
    assert response.json()["digit"] == 7 and url_path(response.json()["image_url"]).endswith(".jpg")


@pytest.mark.django_db(transaction=True)
def test_deleting_a_prediction_deletes_its_drawing(client, seven, isolated_media):
    prediction = Prediction.objects.get(pk=post_file(client, png(seven)).json()["id"])
    assert files_in(isolated_media) == [Path(prediction.image.path)]
    prediction.delete()
    assert files_in(isolated_media) == []


@pytest.fixture
def created(client, mnist_test):
    return post_file(client, png(mnist_test.images[0]))


def post_feedback(client, created, payload, prediction_id=None):
    return client.post(f"{URL}{prediction_id or created.json()['id']}/feedback/", payload,
                       content_type="application/json", headers=owner(created))


def test_feedback_is_stored_as_the_drawers_word_not_reviewed_truth(client, created):
    response = post_feedback(client, created, {"label": 1})
    assert response.status_code == 200 and response.json()["reported_label"] == 1
    assert "secret" not in response.json()   # shown only when the prediction is created
    stored = Prediction.objects.get(pk=created.json()["id"])
    assert stored.reported_label == 1 and stored.true_label is None


def test_feedback_from_a_form_is_taken_as_the_digits_it_spells(client, created):
    response = client.post(f"{URL}{created.json()['id']}/feedback/", {"label": "7", "revision": "0"},
                           headers=owner(created))
    assert response.status_code == 200 and response.json()["reported_label"] == 7


def test_feedback_can_say_it_is_not_a_digit(client, created):
    assert post_feedback(client, created, {"label": NOT_A_DIGIT}).status_code == 200
    assert Prediction.objects.get(pk=created.json()["id"]).reported_label == NOT_A_DIGIT


@pytest.mark.parametrize("bad", [{"label": 11}, {"label": "seven"}, {}, {"label": "\u0663"}, {"label": "1_0"},
                                 {"label": " 3 "}, {"label": "+3"}, {"label": "3.0"}, {"label": 3.0}, {"label": True},
                                 {"label": 1, "revision": "\u0660"}])
def test_bad_feedback_is_a_400(client, created, bad):
    response = post_feedback(client, created, bad)
    assert response.status_code == 400 and response.json()["error"]
    assert Prediction.objects.get(pk=created.json()["id"]).reported_label is None


def test_feedback_with_an_unknown_field_is_a_400_that_names_it(client, created):
    response = post_feedback(client, created, {"label": 1, "lable": 2})
    assert response.status_code == 400
    assert response.json()["error"] == "lable: unknown field; send `label` and, optionally, `revision`"
    assert Prediction.objects.get(pk=created.json()["id"]).reported_label is None


def test_feedback_on_a_missing_prediction_is_a_404(client, created):
    assert post_feedback(client, created, {"label": 1}, prediction_id=uuid.uuid4()).status_code == 404


def test_the_owner_reads_the_prediction_without_its_secret(client, created, mnist_test):
    detail = client.get(f"{URL}{created.json()['id']}/", headers=owner(created)).json()
    assert detail["id"] == created.json()["id"] and detail["digit"] == mnist_test.labels[0]
    assert "secret" not in detail


def test_an_id_that_is_not_a_uuid_is_a_404(client):
    assert client.get(f"{URL}not-a-uuid/").status_code == 404


def test_health_is_ok_with_a_model_and_a_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_the_schema_describes_the_api(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/predictions/" in schema.content


def test_the_schema_takes_a_point_past_the_canvas_s_edge(client):
    """Every value of a point had a minimum of 0, so a client checking its requests against the
    schema refused a stroke the page sends when a finger leaves the canvas."""
    schema = client.get("/api/schema/?format=json").json()
    strokes = schema["components"]["schemas"]["PredictionRequest"]["properties"]["strokes"]
    assert strokes["items"]["properties"]["points"]["items"]["items"]["minimum"] == -0.5


def test_the_schema_is_generated_once_whatever_the_query_or_accept_header(client, monkeypatch):
    """A URL's cache generated it again for each new query string: 15-24 ms of CPU a request, anonymous."""
    from drf_spectacular.generators import SchemaGenerator

    generated = []
    get_schema = SchemaGenerator.get_schema
    monkeypatch.setattr(SchemaGenerator, "get_schema",
                        lambda self, *args, **kwargs: generated.append(1) or get_schema(self, *args, **kwargs))
    monkeypatch.setattr(views.SchemaView, "_schema", None)
    answers = [client.get(f"/api/schema/?format=json&x={n}&version=v{n}&lang=fr",
                          headers={"Accept": f"application/json, text/x-{n}"}) for n in range(5)]
    assert {answer.status_code for answer in answers} == {200} and len({answer.content for answer in answers}) == 1
    assert answers[0].json()["info"]["version"] == "1.0.0" and "v1" not in answers[1]["Content-Disposition"]
    assert client.get("/api/schema/").content.startswith(b"openapi: 3") and len(generated) == 1


def test_the_schema_is_in_the_site_s_language_whatever_the_first_visitor_asks(client, monkeypatch):
    """A `?lang=` switched the generation to that language: the first visitor's wrote French into every
    later answer, and each new code kept a translation in the process's memory for good."""
    from django.utils.translation import trans_real

    monkeypatch.setattr(views.SchemaView, "_schema", None)
    languages = set(trans_real._translations)
    asked = [client.get(f"/api/schema/?format=json&lang={code}") for code in ("fr", "de", "x-unheard-of")]
    plain = client.get("/api/schema/?format=json")
    assert len({answer.content for answer in asked + [plain]}) == 1
    assert "Chaîne" not in plain.content.decode() and "A UUID string identifying this prediction." in plain.content.decode()
    assert set(trans_real._translations) == languages


def test_the_api_docs_need_no_cdn(client):
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


@pytest.mark.django_db(transaction=True)
def test_broken_model_gives_503_and_stores_nothing(client, seven, tmp_path, isolated_media, monkeypatch):
    # A process with no version loaded before to fall back on.
    monkeypatch.setattr(inference.model_cache, "loaded", None)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"this is not a checkpoint")
    ModelVersion.objects.filter(is_active=True).update(path=str(broken), sha256=checkpoint.file_sha256(broken))
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    response = post_file(client, png(seven))
    assert response.status_code == 503 and "model is unavailable" in response.json()["error"]
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


@pytest.mark.django_db(transaction=True)
def test_failed_insert_leaves_no_file(seven, isolated_media):
    """Django's foreign keys are checked at commit, so only a real transaction shows the failure."""
    predictor = inference.model_cache.current().predictor
    from mlcore.preprocess import to_mnist_input

    mnist_input = to_mnist_input(render(seven))
    with pytest.raises(IntegrityError):
        Prediction.record(image_bytes=png(seven), extension="png", mnist_input=mnist_input,
                          answer=predictor.predict(mnist_input),
                          model_version=ModelVersion(pk=987654, name="ghost"), source="api", secret_hash="")
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


@pytest.mark.django_db(transaction=True)
def test_database_failure_is_503_json(client, seven, isolated_media):
    """A real database error (the table is gone for a moment) gives JSON, not a stack trace."""
    table = Prediction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        response = post_file(client, png(seven))
        detail = client.get(f"{URL}{uuid.uuid4()}/", headers={"X-Drawing-Secret": "any"})
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
    assert response.status_code == 503 and response.json()["error"].startswith("the database is unavailable")
    assert detail.status_code == 503
    assert files_in(isolated_media) == []


@pytest.mark.django_db(transaction=True)
def test_a_page_or_a_picture_asked_for_while_the_database_is_down_is_503(client, seven, isolated_media):
    """The API said 503, but a drawing's signed picture (and a page, as the admin's sign-in) was a 500, the
    site's word for a bug."""
    picture = post_file(client, png(seven)).json()["image_url"]
    table = Prediction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        answer = client.get(picture)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
    assert answer.status_code == 503 and b"database is unavailable" in answer.content
    assert answer["Content-Type"].startswith("text/html")


def test_a_drawing_that_cannot_be_written_is_503_and_leaves_nothing(client, seven, settings, tmp_path, mnist_test):
    """A full disk or a folder that cannot be written answered 500, the API's word for a bug, and /healthz
    said all was well."""
    good = post_file(client, png(seven)).json()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the drawings' folder should be")
    settings.MEDIA_ROOT = blocker / "media"
    response = post_file(client, png(seven))
    update = client.put(f"{URL}{good['id']}/", {"image": data_url(png(mnist_test.images[1]))},
                        content_type="application/json", headers={"X-Drawing-Secret": good["secret"]})
    for answer in (response, update):
        assert answer.status_code == 503, answer.content
        assert answer.json()["error"] == ("the drawing could not be stored right now; nothing was kept: "
                                          "send it again shortly")
    assert Prediction.objects.count() == 1 and Prediction.objects.get().revision == 0
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"


@pytest.mark.django_db(transaction=True)
def test_health_is_503_when_the_database_fails(client):
    table = ModelVersion._meta.db_table
    assert client.get("/healthz").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        health = client.get("/healthz")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"


@pytest.mark.django_db(transaction=True)
def test_an_outage_logs_one_traceback_a_minute_and_a_line_a_request(client):
    """With the database down, each probe of the public /healthz logged a traceback of 4 KB: 6 GB of log an
    hour from one connection."""
    (console,) = [handler for handler in logging.getLogger().handlers
                  if isinstance(handler.formatter, logs.TracebackOncePerMinute)]
    console.formatter.written_at.clear()
    written = io.StringIO()
    previous = console.setStream(written)
    table = ModelVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        answers = [client.get("/healthz").status_code for _ in range(3)]
    finally:
        console.setStream(previous)
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
    log = written.getvalue()
    assert answers == [503] * 3
    first, *others = log.split("health check failed")[1:]
    assert len(others) == 2 and "Traceback" in first, log
    for line in others:
        # SQLite's OperationalError or PostgreSQL's ProgrammingError, named without its words said twice.
        assert "Traceback" not in line and "Error; its traceback was written less than 60 s ago)" in line, log


def test_a_traceback_is_held_back_only_for_the_same_failure_and_only_from_the_log_line():
    """Kinds were a logger and a message: Django logs every bug as "Internal Server Error: %s", so a second bug
    raising the same class elsewhere lost its traceback; and the record, changed, lost it for every handler."""
    formatter = logs.TracebackOncePerMinute()

    def failure(raise_it) -> logging.LogRecord:
        try:
            raise_it()
        except KeyError:
            return logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s",
                                     ("/x",), sys.exc_info())

    def one_bug():
        return {}["one"]

    def another_bug():
        return {}["another"]

    first, again, elsewhere = failure(one_bug), failure(one_bug), failure(another_bug)
    assert "Traceback" in formatter.format(first)
    line = formatter.format(again)
    assert "Traceback" not in line and line.startswith("Internal Server Error: /x (KeyError: 'one'; ")
    assert again.exc_info is not None
    assert "Traceback" in formatter.format(elsewhere)


def test_logged_in_session_needs_csrf_token(seven, django_user_model):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_user("drawer", password="x-long-password-1"))
    response = client.post(URL, {"image": _named(png(seven), "d.png")})
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    page = client.get("/")
    token = page.cookies["csrftoken"].value
    response = client.post(URL, {"image": _named(png(seven), "d.png")}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_favicon_ico_is_the_sites_icon(client):
    """Pages that name no icon (the admin's, the API's JSON) make browsers ask for /favicon.ico."""
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == static("recognizer/icon.svg")
    assert "max-age=86400" in response["Cache-Control"]
    assert finders.find("recognizer/icon.svg").endswith("icon.svg")
    assert f'rel="icon" type="image/svg+xml" href="{static("recognizer/icon.svg")}"' in client.get("/").content.decode()
    assert client.post("/favicon.ico").status_code == 405


@pytest.mark.django_db
def test_a_server_not_yet_upgraded_goes_on_counting_in_the_rate_windows_column(monkeypatch):
    """Servers are upgraded one at a time, and one still on the code before `RateWindow.period` was named
    `window_end` counts in plain SQL in a column called period: the rename is the code's, never the column's
    (migration 0014 first renamed it, and every new drawing on such a server was a 500 until it restarted)."""
    monkeypatch.setattr(FixedWindowLimit, "timer", lambda self: 1_800_000_030.0)
    table, day_ends = RateWindow._meta.db_table, 1_800_057_600
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(f"INSERT INTO {table} (ident, period, hits) VALUES (%s, %s, 1) "
                           f"ON CONFLICT (ident, period) DO UPDATE SET hits = {table}.hits + 1 RETURNING hits",
                           ["new 203.0.113.9", day_ends])
    assert FixedWindowLimit("2/day", kind="new ").spent("203.0.113.9")
    assert RateWindow.objects.get(ident="new 203.0.113.9").window_end == day_ends
