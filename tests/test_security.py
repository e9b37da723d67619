"""A stranger on the internet tries the API: other people's drawings, cross-site writes, hostile bodies.

Real model, real database, real files; the chunked body goes through a real gunicorn.
"""

import base64
import http.client
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.core import signing
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from recognizer import inference
from recognizer.access import hash_secret
from recognizer.models import ModelVersion, Prediction
from recognizer.throttles import client_ident

from .drawings import png
from .reviewing import PASSWORD, make_user, record_drawing

URL = "/api/predictions/"
ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


def files_in(media_root) -> list[Path]:
    return sorted(p for p in Path(media_root).rglob("*") if p.is_file())


def upload(content: bytes, name: str = "drawing.png"):
    file = io.BytesIO(content)
    file.name = name
    return file


@pytest.fixture
def seven(mnist_test):
    return mnist_test.images[0]


@pytest.fixture
def created(client, seven):
    """A prediction created through the API, as its creator's answer shows it."""
    response = client.post(URL, {"image": upload(png(seven))})
    assert response.status_code == 201, response.content
    return response.json()


def owner(created) -> dict:
    return {"X-Drawing-Secret": created["secret"]}


def staff_client(django_user_model, *permissions, staff=True) -> Client:
    user = make_user(django_user_model, f"user-{uuid.uuid4().hex[:8]}", staff=staff, permissions=permissions)
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    return client


# Ownership: only the secret or a staff session with the right permission.

def test_only_a_hash_of_the_secret_is_stored(created):
    row = Prediction.objects.get(pk=created["id"])
    assert row.secret_hash == hash_secret(created["secret"]) and created["secret"] not in row.secret_hash


@pytest.mark.parametrize("method, path, body", [
    ("get", "", None), ("delete", "", None), ("post", "feedback/", {"label": 3}),
])
@pytest.mark.parametrize("credentials", ["none", "wrong secret", "another drawing's secret"])
def test_a_stranger_gets_the_same_404_as_for_a_missing_id(client, seven, created, method, path, body,
                                                           credentials):
    other = client.post(URL, {"image": upload(png(seven))}).json()
    headers = {"none": {}, "wrong secret": {"X-Drawing-Secret": "guess" * 9},
               "another drawing's secret": owner(other)}[credentials]
    send = getattr(client, method)
    kwargs = {"data": body, "content_type": "application/json"} if body else {}
    hidden = send(f"{URL}{created['id']}/{path}", headers=headers, **kwargs)
    missing = send(f"{URL}{uuid.uuid4()}/{path}", headers=headers, **kwargs)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content and hidden.json()["error"]
    row = Prediction.objects.get(pk=created["id"])
    assert row.reported_label is None


def test_the_owner_reads_gives_feedback_and_deletes(client, created, isolated_media,
                                                    django_capture_on_commit_callbacks):
    path = f"{URL}{created['id']}/"
    assert client.get(path, headers=owner(created)).json()["digit"] == created["digit"]
    feedback = client.post(f"{path}feedback/", {"label": 1}, content_type="application/json", headers=owner(created))
    assert feedback.status_code == 200 and Prediction.objects.get(pk=created["id"]).reported_label == 1
    assert len(files_in(isolated_media)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.delete(path, headers=owner(created))
    assert deleted.status_code == 204
    assert not Prediction.objects.filter(pk=created["id"]).exists() and files_in(isolated_media) == []
    assert client.get(path, headers=owner(created)).status_code == 404


def test_no_cache_on_the_way_keeps_an_answer_of_the_api(client, seven, created):
    """The creator's answer carries the secret, a read what only the owner may see."""
    answers = [client.post(URL, {"image": upload(png(seven))}),
               client.get(f"{URL}{created['id']}/", headers=owner(created)),
               client.get(f"{URL}{uuid.uuid4()}/")]
    for answer in answers:
        assert {"private", "no-store"} <= {part.strip() for part in answer["Cache-Control"].split(",")}


@pytest.mark.parametrize("permissions, allowed", [
    ((), set()),
    (("view_prediction",), {"read"}),
    (("view_prediction", "change_prediction"), {"read", "feedback"}),
    (("delete_prediction",), {"delete"}),
])
def test_staff_need_the_permission_for_each_verb(django_user_model, created, permissions, allowed):
    client = staff_client(django_user_model, *permissions)
    path = f"{URL}{created['id']}/"
    read = client.get(path).status_code
    feedback = client.post(f"{path}feedback/", {"label": 2}, content_type="application/json").status_code
    delete = client.delete(path).status_code
    assert {"read": read, "feedback": feedback, "delete": delete} == {
        verb: {"read": 200, "feedback": 200, "delete": 204}[verb] if verb in allowed else 404
        for verb in ("read", "feedback", "delete")}


@pytest.mark.parametrize("page", ["change", "history", "delete"])
def test_the_admin_tells_staff_without_the_permission_nothing_of_which_drawings_exist(django_user_model, created,
                                                                                       page):
    """The history page redirected for a missing id and refused an existing one."""
    client = staff_client(django_user_model)
    for pk in (created["id"], uuid.uuid4()):
        response = client.get(f"/admin/recognizer/prediction/{pk}/{page}/")
        assert response.status_code == 403, (page, pk)


def test_healthz_answers_other_methods_in_json():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/healthz")
    assert response.status_code == 405 and response.json()["error"] == "method not allowed"


# What every answer carries, an error's too: set by the middleware, never by a view.
SECURITY_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def test_django_s_own_errors_said_in_json_keep_their_headers(client):
    """Rewritten as JSON, Django's 405 lost its Allow header (which HTTP requires) and every such error its
    X-Frame-Options."""
    not_allowed = client.post("/healthz")
    assert not_allowed.status_code == 405 and {"GET", "HEAD"} <= set(not_allowed["Allow"].replace(" ", "").split(","))
    for response in (not_allowed, client.get("/api/nothing/"), client.get("/review/queue/next/")):
        assert response["Content-Type"] == "application/json"
        assert {name: response.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS


def test_listing_is_for_staff_with_the_view_or_the_change_permission(client, django_user_model, created):
    refused = [client.get(URL),
               staff_client(django_user_model, "delete_prediction").get(URL),
               staff_client(django_user_model, "view_prediction", staff=False).get(URL),
               client.get(URL, headers={**owner(created), "Accept": "text/html"})]
    for response in refused:
        assert response.status_code == 403 and response["Content-Type"] == "application/json"
        assert "only staff" in response.json()["error"]
    listing = staff_client(django_user_model, "view_prediction").get(URL)
    assert listing.status_code == 200 and [p["id"] for p in listing.json()["results"]] == [created["id"]]
    assert "secret" not in listing.json()["results"][0]
    # As in the admin, the right to change includes the right to view.
    assert staff_client(django_user_model, "change_prediction").get(URL).status_code == 200


def test_the_listing_pages_through_every_drawing_at_one_page_cost(django_user_model, mnist_test):
    rows = [record_drawing(mnist_test.images[index]) for index in range(45)]
    # Drawings stored in the same instant must each be listed once, across a page's end too.
    Prediction.objects.filter(pk__in=[row.pk for row in rows[10:30]]).update(created_at=rows[10].created_at)
    staff = staff_client(django_user_model, "view_prediction")
    listed, url, statements = [], URL, []
    while url:
        with CaptureQueriesContext(connection) as queries:
            page = staff.get(url).json()
        statements += [query["sql"] for query in queries.captured_queries]
        listed += [prediction["id"] for prediction in page["results"]]
        url = page["next"]
    expected = Prediction.objects.order_by("-created_at", "-id").values_list("id", flat=True)
    assert listed == [str(pk) for pk in expected] and len(listed) == 45
    assert not [sql for sql in statements if "COUNT(" in sql.upper()]


@pytest.mark.parametrize("position", ["garbage", "", "10000-01-01 00:00:00+00:00", "2026-12-05 10:00:00+99:00"])
def test_a_crafted_cursor_is_a_404_not_a_500(django_user_model, created, position):
    cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()
    response = staff_client(django_user_model, "view_prediction").get(URL, {"cursor": cursor})
    assert response.status_code in (200, 404) and response["Content-Type"] == "application/json"
    if response.status_code == 404:
        assert response.json()["error"] == "Invalid cursor"


# Drawing files: signed, expiring URLs, or staff.

def test_the_signed_url_serves_the_drawing_privately(client, created):
    image = client.get(created["image_url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert {"private", "no-store"} <= {part.strip() for part in image["Cache-Control"].split(",")}


def _with_signature(url: str, signature: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{urlencode({'signature': signature})}"


def test_a_drawing_without_a_valid_signature_is_404(client, seven, created):
    signature = dict(parse_qsl(urlsplit(created["image_url"]).query))["signature"]
    other = client.post(URL, {"image": upload(png(seven))}).json()
    other_signature = dict(parse_qsl(urlsplit(other["image_url"]).query))["signature"]
    for url in (urlsplit(created["image_url"]).path,
                _with_signature(created["image_url"], signature[:-1] + ("A" if signature[-1] != "A" else "B")),
                _with_signature(created["image_url"], other_signature)):
        assert client.get(url).status_code == 404, url


def test_a_signed_url_expires(client, created, settings, monkeypatch):
    settings.DRAWING_URL_MAX_AGE = 600
    assert client.get(created["image_url"]).status_code == 200
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + 601)
    assert client.get(created["image_url"]).status_code == 404


def test_a_deleted_drawing_whose_file_stays_is_served_to_no_one(client, django_user_model, created, isolated_media,
                                                                 monkeypatch, django_capture_on_commit_callbacks):
    """A delete on a read-only or lost mount answered 204 and left the file, which its signed URL, still
    within its hour, and staff went on seeing."""
    def unremovable(storage, name):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(FileSystemStorage, "delete", unremovable)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{URL}{created['id']}/", headers=owner(created)).status_code == 204
    assert files_in(isolated_media)
    assert client.get(created["image_url"]).status_code == 404
    assert staff_client(django_user_model, "view_prediction").get(
        urlsplit(created["image_url"]).path).status_code == 404


def test_staff_who_may_view_or_change_see_drawings_without_a_signature(django_user_model, created):
    """As in the admin, changing includes viewing: a reviewer who may label sees what they label."""
    path = urlsplit(created["image_url"]).path
    assert staff_client(django_user_model, "view_prediction").get(path).status_code == 200
    assert staff_client(django_user_model, "change_prediction").get(path).status_code == 200
    assert staff_client(django_user_model, "delete_prediction").get(path).status_code == 404


def test_a_reviewer_s_drawing_urls_close_with_their_permission(django_user_model, created):
    """A listing gave staff every drawing at a signed URL, which went on opening it for an hour after the
    reviewer's permission was taken away."""
    reviewer = staff_client(django_user_model, "view_prediction")
    (listed,) = reviewer.get(URL).json()["results"]
    assert urlsplit(listed["image_url"]).query == ""
    assert reviewer.get(listed["image_url"]).status_code == 200
    user = django_user_model.objects.get(pk=reviewer.session["_auth_user_id"])
    user.user_permissions.clear()
    assert reviewer.get(listed["image_url"]).status_code == 404
    assert reviewer.get(created["image_url"]).status_code == 200   # the owner's URL is the owner's


def test_drawing_names_are_random(created):
    name = Path(urlsplit(created["image_url"]).path).stem
    assert len(name) == 32 and int(name, 16) and Prediction.objects.get(pk=created["id"]).image.name.endswith(
        f"{name}.png")


# Cross-site writes.

@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://testserver.evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
])
def test_a_write_from_another_site_is_refused_and_stores_nothing(client, seven, created, isolated_media, headers):
    before = files_in(isolated_media)
    response = client.post(URL, {"image": upload(png(seven))}, headers=headers)
    assert response.status_code == 403 and "another site" in response.json()["error"]
    feedback = client.post(f"{URL}{created['id']}/feedback/", {"label": 4}, content_type="application/json",
                           headers={**owner(created), **headers})
    assert feedback.status_code == 403
    assert Prediction.objects.count() == 1 and files_in(isolated_media) == before
    assert Prediction.objects.get().reported_label is None


@pytest.mark.parametrize("headers", [
    {}, {"Origin": "http://testserver"}, {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    {"Origin": "https://digits.example.org"}, {"Origin": "https://www.example.net"},
])
def test_own_trusted_and_originless_writes_pass(client, seven, settings, headers):
    settings.CSRF_TRUSTED_ORIGINS = ["https://digits.example.org", "https://*.example.net"]
    assert client.post(URL, {"image": upload(png(seven))}, headers=headers).status_code == 201


# Hostile bodies: every answer JSON, every refusal a 4xx.

def test_json_nested_10000_deep_is_400(client, isolated_media):
    for body in ("[" * 10_000 + "]" * 10_000, '{"image": ' + "[" * 10_000 + "]" * 10_000 + "}"):
        response = client.post(URL, body, content_type="application/json")
        assert response.status_code == 400 and "nested too deeply" in response.json()["error"]
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


@pytest.mark.parametrize("body", [
    '{"image": "\\ud800"}', '{"source": "\\udfff", "image": "x"}', '{"\\ud800": 1}',
])
def test_a_lone_surrogate_is_400(client, body):
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400 and "surrogate" in response.json()["error"]


def test_a_large_body_holding_other_than_ascii_is_refused_before_it_is_decoded(client, isolated_media):
    """Only a data URL makes a body this large, and base64 is ASCII; with one emoji a 14 MiB body cost a
    worker 170 MB of copies before its refusal."""
    padding = " " * (1 << 20)
    response = client.post(URL, '{"image": "\U0001F600"' + padding + "}", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("JSON parse error - a body over 1,048,576 bytes must be ASCII")
    response = client.post(URL, '{"été": 1}', content_type="application/json")
    assert response.status_code == 400 and "unknown field" in response.json()["été"]
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


# Punycode's decoder takes time in the square of the length: this body cost 4.4 s of CPU to decode.
PUNYCODE_BODY = b"-" + b"a" * 800_000


@pytest.mark.parametrize("path, content_type", [
    (URL, "application/json; charset=punycode"),
    (URL, "multipart/form-data; boundary=XyZ; charset=punycode"),
    (URL, "application/json; charset=UTF-7"),
    ("/admin/login/", "application/x-www-form-urlencoded; charset=punycode"),
    ("/review/queue/next/", "application/json; charset=unicode_escape"),
])
def test_a_body_in_another_charset_than_utf8_is_refused_before_it_is_decoded(client, isolated_media, settings,
                                                                            path, content_type):
    """Django decodes a body in any charset Python knows that the client names; UTF-7 also spells any
    character in ASCII, past the rule for large bodies above."""
    client.get("/healthz")  # a process's first request loads the site
    # Outside the API a body is 64 KiB at most, which a quadratic decoder reads in tens of milliseconds.
    body = PUNYCODE_BODY if path == URL else PUNYCODE_BODY[:settings.MAX_FORM_BYTES]
    started = time.process_time()
    response = client.generic("POST", path, body, content_type=content_type)
    assert time.process_time() - started < 0.2
    assert response.status_code == 415
    if path == URL:
        assert response.json()["error"] == ("the body must be UTF-8: name charset=utf-8 in its Content-Type, "
                                            "or no charset")
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", "utf_8", "us-ascii", "no-such-charset"])
def test_utf8_by_any_of_its_names_is_read(client, charset):
    body = json.dumps({"strokes": [{"pointer": "mouse", "points": [[0.5, 0.2, 0, 0.5], [0.5, 0.8, 200, 0.5]]}]})
    response = client.generic("POST", URL, body.encode(), content_type=f"application/json; charset={charset}")
    assert response.status_code == 201, response.content


def test_a_form_of_thousands_of_header_only_parts_is_refused_before_they_are_parsed(client, isolated_media, seven):
    """Parts with a file name and no field name count against none of Django's limits, and each line of their
    headers went through the e-mail parser: 0.9 s of CPU a megabyte."""
    part = (b"--XyZ\r\nContent-Disposition: form-data; filename=\"a\"\r\n"
            + b"X-A: a; b=c\r\n" * 60 + b"\r\n\r\n")
    body = part * 1200 + b"--XyZ--\r\n"
    client.get("/healthz")  # a process's first request loads the site
    started = time.process_time()
    response = client.generic("POST", URL, body, content_type="multipart/form-data; boundary=XyZ")
    assert time.process_time() - started < 0.2
    assert response.status_code == 400 and response.json()["error"] == "the form has 1,200 parts; the limit is 16"
    assert client.post(URL, {"image": upload(png(seven)), "source": "upload"}).status_code == 201


def test_a_short_boundary_inside_a_part_is_not_counted_as_a_part(client, seven, isolated_media):
    """A delimiter opens a line: `x` found anywhere in the picture's bytes made a 2-part upload 22 parts."""
    image = png(seven)
    body = (b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"d.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + image + b"--x" * 30 + b"\r\n--x\r\n"
            b"Content-Disposition: form-data; name=\"source\"\r\n\r\nupload\r\n--x--\r\n")
    response = client.generic("POST", URL, body, content_type="multipart/form-data; boundary=x")
    assert response.status_code != 400 or "parts" not in response.json()["error"], response.json()


def test_a_lone_surrogate_in_feedback_is_400(client, created):
    response = client.post(f"{URL}{created['id']}/feedback/", '{"label": "\\ud800"}',
                           content_type="application/json", headers=owner(created))
    assert response.status_code == 400 and "surrogate" in response.json()["error"]


@pytest.mark.parametrize("body, message", [
    ("{" + ",".join(f'"k{n}": 0' for n in range(10_000)) + "}", "an object has 10,000 keys; the limit is 64"),
    ('{"strokes": [{"pointer": "pen", "points": [[1' + "0" * 5000 + ', 0.5, 0, 0.5]]}]}',
     "a number has 5,001 digits; the limit is 30"),
    ('{"strokes": [{"pointer": "pen", "points": [[Infinity, 0.5, 0, 0.5]]}]}', "Infinity is not a JSON number"),
    ('{"strokes": [' + "0," * 3_000_000 + "0]}", "the body holds about 3,000,002 values; the limit is 20,320"),
    ('{"source": "canvas", "strokes": [], "source": "upload"}', "an object names 'source' twice; send each key once"),
])
def test_json_beyond_what_the_api_takes_is_a_short_400(client, isolated_media, body, message):
    """Bounded at parsing: a body of 10,000 keys is not answered with 10,000 names of unknown fields."""
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == f"JSON parse error - {message}"
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


def test_three_million_values_are_refused_without_parsing_them(client):
    """Six megabytes of zeros cost a second of CPU to parse, and the strokes were refused only then."""
    client.post(URL, "[]", content_type="application/json")  # a process's first request loads the API
    body = '{"strokes": [' + "0," * 3_000_000 + "0]}"
    started = time.process_time()
    assert client.post(URL, body, content_type="application/json").status_code == 400
    assert time.process_time() - started < 0.2


@pytest.mark.parametrize("origin", ["http://[::1", "https://[evil", "http://a]b"])
def test_a_malformed_origin_is_refused_as_another_site_s(client, seven, created, isolated_media, origin):
    before = files_in(isolated_media)
    response = client.post(URL, {"image": upload(png(seven))}, headers={"Origin": origin})
    assert response.status_code == 403 and "another site" in response.json()["error"]
    deleted = client.delete(f"{URL}{created['id']}/", headers={**owner(created), "Origin": origin})
    assert deleted.status_code == 403 and Prediction.objects.count() == 1 and files_in(isolated_media) == before


@pytest.mark.parametrize("extra", [
    {f"field{n}": "x" for n in range(1_100)},
    {f"file{n}": upload(b"x", f"{n}.png") for n in range(110)},
])
def test_too_many_fields_or_files_is_a_json_400(client, seven, isolated_media, extra):
    response = client.post(URL, {"image": upload(png(seven)), **extra})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["error"] == f"the form has {len(extra) + 1:,} parts; the limit is 16"
    assert Prediction.objects.count() == 0 and files_in(isolated_media) == []


@pytest.mark.parametrize("path", ["/api/nothing/", "/api/predictions/x/y/z/", "/api/predictions/not-a-uuid/"])
def test_unknown_api_urls_are_json_404s(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["error"]


def test_outside_the_api_django_answers_as_usual(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_the_drawing_page_is_private_to_its_visitor(client):
    # It sets its visitor's CSRF cookie: a shared cache must not hand that to the next visitor.
    response = client.get("/")
    assert "csrftoken" in response.cookies and "private" in response["Cache-Control"]


def test_signing_in_with_a_next_page_off_the_site_lands_on_the_admin(client, django_user_model):
    make_user(django_user_model, "ada", staff=True)
    response = client.post("/admin/login/?next=https://evil.example.org/",
                           {"username": "ada", "password": PASSWORD, "next": "https://evil.example.org/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"


STRICT_POLICY = {"default-src": "'self'", "style-src": "'self'", "img-src": "'self' data:", "object-src": "'none'",
                 "base-uri": "'self'", "form-action": "'self'", "frame-ancestors": "'none'"}


def content_security_policy(response) -> dict[str, str]:
    return dict(directive.split(" ", 1) for directive in response["Content-Security-Policy"].split("; "))


@pytest.mark.parametrize("path", ["/", "/admin/login/", "/review/", "/api/docs/", "/no-such-page/"])
def test_every_page_has_a_strict_content_security_policy(client, path):
    """Scripts and styles from the site's own files only; no other site may frame a page, ask for the
    camera, or see in a Referer which page (or which drawing's signed URL) linked to it."""
    response = client.get(path)
    assert response.status_code in (200, 302, 404)
    assert content_security_policy(response) == STRICT_POLICY
    assert response["Permissions-Policy"].startswith("camera=(self), microphone=()")
    assert response["Referrer-Policy"] == "same-origin"


def test_the_browsable_api_s_inline_style_carries_the_request_s_nonce(django_user_model, created):
    response = staff_client(django_user_model, "view_prediction").get(URL, HTTP_ACCEPT="text/html")
    nonce = content_security_policy(response)["style-src"].removeprefix("'self' 'nonce-").removesuffix("'")
    assert f'<style nonce="{nonce}">' in response.content.decode()
    assert len(nonce) >= 16


def test_an_unexpected_error_is_a_json_500_without_internals(seven, monkeypatch, isolated_media, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("internal detail /srv/secret/path")

    monkeypatch.setattr("recognizer.serializers.recognize", broken)
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.post(URL, {"image": upload(png(seven))})
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error"} and b"secret" not in response.content
    assert "internal detail /srv/secret/path" in caplog.text   # the log keeps what the answer hides


# A chunked body through a real server.

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    """gunicorn serving the site on its own SQLite database and media directory."""
    home = tmp_path_factory.mktemp("gunicorn")
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(DJANGO_DEBUG="1", DATABASE_URL=f"sqlite:///{home / 'db.sqlite3'}", MEDIA_ROOT=str(home / "media"))
    for command in (["migrate", "--noinput"], ["bootstrap_model"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=300)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "mnistsite.wsgi", "--bind", f"127.0.0.1:{port}",
                               "--workers", "1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield port, home / "media"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _post(port: int, body, headers: dict, chunked: bool) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("POST", URL, body=iter([body[:100], body[100:]]) if chunked else body,
                           headers=headers, encode_chunked=chunked)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_body_is_refused_with_a_json_411_by_gunicorn(gunicorn_server, seven):
    port, media = gunicorn_server
    body = json.dumps({"image": "data:image/png;base64," + base64.b64encode(png(seven)).decode()})
    headers = {"Content-Type": "application/json"}
    status, answer = _post(port, body.encode(), headers, chunked=True)
    assert status == 411 and "Content-Length" in answer["error"]
    assert files_in(media) == []
    status, answer = _post(port, body.encode(), headers, chunked=False)
    assert status == 201 and answer["digit"] == 7 and len(files_in(media)) == 1


@pytest.mark.parametrize("content_type, status, error", [
    ("application/json; x*=nope''x", 400, "the Content-Type header cannot be read"),
    ("application/json; charset=rot13", 415, "the body must be UTF-8"),
    ("application/json; charset=punycode", 415, "the body must be UTF-8"),
    ("application/json; charset*=utf-8''utf%008", 415, "the body must be UTF-8"),
])
def test_a_content_type_django_cannot_read_is_a_json_4xx_not_a_500(gunicorn_server, content_type, status, error):
    """Django reads it before any middleware, the query string in its charset too: every URL, /healthz
    included, answered an HTML 500 and logged a traceback."""
    port, _ = gunicorn_server
    for path in ("/healthz?probe=1", URL + "?x=1"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", path, body=b"{}", headers={"Content-Type": content_type})
            response = connection.getresponse()
            assert response.status == status
            assert json.loads(response.read())["error"].startswith(error)
            # Answered outside Django, it carried none of the headers every answer does.
            assert {name: response.getheader(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
            assert "frame-ancestors 'none'" in response.getheader("Content-Security-Policy", "")
        finally:
            connection.close()


@pytest.mark.parametrize("stamp", [b"", b"X-Request-Start: t=1700000000.000\r\n"], ids=["unstamped", "stamp forged"])
def test_a_client_that_declares_a_body_and_sends_none_is_answered_at_once(gunicorn_server, stamp):
    """Reading the rest of every body held a worker, without a deadline, for a client straight to gunicorn
    that declared a length and sent nothing: only a body nginx has buffered whole is read, and nginx's stamp
    is believed only with a proxy in front (eight such requests with a stamp of their own held a server of
    gunicorn alone for over 40 s)."""
    port, _ = gunicorn_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n" + stamp + b"\r\n")
        assert connection.recv(100).startswith(b"HTTP/1.1 200")


# The throttle counts an IPv6 client per /64.

@pytest.mark.parametrize("address, ident", [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    (None, "unknown"),
])
def test_client_ident(address, ident):
    assert client_ident(address) == ident


def test_ipv6_addresses_of_one_64_share_a_limit(client, seven, settings):
    settings.PREDICTION_RATE_LIMIT = "1/hour"

    def post(address):
        return client.post(URL, {"image": upload(png(seven))}, REMOTE_ADDR=address).status_code

    assert [post("2001:db8:1:2::1"), post("2001:db8:1:2:ffff:ffff:ffff:9"), post("2001:db8:1:3::1")] == \
        [201, 429, 201]


def test_sign_in_attempts_past_the_limit_are_refused_even_with_the_right_password(client, settings,
                                                                                   django_user_model):
    settings.LOGIN_RATE_LIMIT = "3/hour"
    make_user(django_user_model, "ada", staff=True)

    def sign_in(password, address="203.0.113.9"):
        return client.post("/admin/login/", {"username": "ada", "password": password}, REMOTE_ADDR=address)

    assert [sign_in("guess").status_code for _ in range(3)] == [200, 200, 200]   # the form again, with its error
    refused = sign_in(PASSWORD)
    assert refused.status_code == 429 and int(refused["Retry-After"]) <= 3600
    assert "Too many sign-in attempts" in refused.content.decode() and "_auth_user_id" not in client.session
    assert client.get("/admin/login/").status_code == 200   # the page itself is not counted
    assert sign_in(PASSWORD, address="198.51.100.7").status_code == 302   # another client signs in


def test_a_sign_in_refused_for_less_than_a_minute_says_the_seconds(client, settings, django_user_model):
    """The wait was said in whole minutes, always plural: "try again in 1 minutes"."""
    settings.LOGIN_RATE_LIMIT = "1/minute"
    make_user(django_user_model, "ada", staff=True)
    client.post("/admin/login/", {"username": "ada", "password": "guess"})
    refused = client.post("/admin/login/", {"username": "ada", "password": PASSWORD})
    assert refused.status_code == 429
    assert re.search(r"try again in \d+ seconds?\.$", refused.content.decode().strip()), refused.content


# Health tells the public only "ok" or "unavailable".

@pytest.mark.django_db(transaction=True)
def test_health_hides_the_reason_and_logs_it(client, settings, tmp_path, caplog, monkeypatch):
    # A process that never loaded a model: none to fall back on.
    monkeypatch.setattr(inference.model_cache, "loaded", None)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"this is not a checkpoint")
    ModelVersion.objects.update(is_active=False)
    ModelVersion.objects.create(name="broken", path=str(broken), sha256="0" * 64, params=1, mnist_accuracy=0.0,
                                is_active=True)
    with caplog.at_level(logging.ERROR, logger="recognizer.views"):
        health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "error": "the model, the database or the drawings' storage is unavailable"}
    assert str(broken) in caplog.text


# The admin's export stays small.

@pytest.mark.parametrize("action", ["export_dataset", "export_strokes"])
def test_the_admin_export_is_capped(django_user_model, mnist_test, settings, action):
    settings.ADMIN_EXPORT_MAX_ROWS = 2
    rows = [record_drawing(mnist_test.images[i]) for i in range(3)]
    Prediction.objects.update(true_label=7)
    client = staff_client(django_user_model, "view_prediction")
    response = client.post("/admin/recognizer/prediction/",
                           {"action": action, "_selected_action": [str(row.pk) for row in rows]},
                           follow=True)
    assert response["Content-Type"].startswith("text/html")
    assert "manage.py export_reviewed" in response.content.decode()


# Orphan drawing files.

KILLED_WORKER = """
import os, signal, sys, types
import django
django.setup()
import numpy as np
from django.conf import settings
from recognizer.models import ModelVersion, Prediction

settings.MEDIA_ROOT = sys.argv[1]
# The worker dies after writing the drawing, while its row is being saved: nothing is committed.
Prediction.save = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
Prediction.record(image_bytes=open(sys.argv[2], "rb").read(), extension="png",
                  mnist_input=np.zeros((28, 28)), model_version=ModelVersion(pk=1), source="api", secret_hash="",
                  answer=types.SimpleNamespace(digit=7, confidence=0.9, probabilities=[0.1] * 10))
"""


def test_a_killed_worker_leaves_an_orphan_that_the_command_removes(seven, isolated_media, tmp_path):
    drawing = tmp_path / "seven.png"
    drawing.write_bytes(png(seven))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    worker = subprocess.run([sys.executable, "-c", KILLED_WORKER, str(isolated_media), str(drawing)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert worker.returncode == -signal.SIGKILL, worker.stderr
    (orphan,) = files_in(isolated_media)
    kept = Path(record_drawing(seven).image.path)

    out = io.StringIO()
    call_command("delete_orphan_drawings", stdout=out)
    assert "deleted 0 orphan" in out.getvalue() and orphan.exists()   # young: its request may still run

    two_hours_ago = time.time() - 7200
    for path in (orphan, kept):
        os.utime(path, (two_hours_ago, two_hours_ago))
    out = io.StringIO()
    call_command("delete_orphan_drawings", "--dry-run", stdout=out)
    assert str(orphan) in out.getvalue() and orphan.exists()
    call_command("delete_orphan_drawings", "--older-than", "30", stdout=io.StringIO())
    assert files_in(isolated_media) == [kept]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/admin/login/", "/review/queue/next/", "/api/predictions/"])
def test_a_megabyte_of_percent_signs_is_refused_unparsed(path):
    """Django parses a form before any view or throttle: a megabyte of "%" cost about a second of CPU,
    on the page's URL with no throttle at all. Only the API takes large bodies, and not as a form."""
    client = Client(enforce_csrf_checks=True, HTTP_ORIGIN="http://testserver")
    client.cookies["csrftoken"] = "A" * 32
    client.get(path)  # the URLs, templates and views loaded, as in a running worker
    started = time.process_time()
    response = client.post(path, "x=" + "%" * 2**20, content_type="application/x-www-form-urlencoded")
    assert time.process_time() - started < 0.1
    assert response.status_code in (400, 413, 415)
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize("path", ["/", "/admin/login/", URL])
def test_a_content_length_of_5000_digits_is_a_413_everywhere(client, path):
    """The API read it as "not a number" (400), the admin as over its limit (413)."""
    assert client.post(path, b"", content_type="text/plain", CONTENT_LENGTH="9" * 5000).status_code == 413
    assert client.post(path, b"", content_type="text/plain", CONTENT_LENGTH="0" * 5000).status_code != 413


@pytest.mark.django_db
def test_head_is_answered_as_get_where_get_is(client, created):
    """Monitors and load balancers probe with HEAD: a 405 reads as the site being down."""
    image_path = urlsplit(created["image_url"])
    for path in ("/", "/healthz", f"{image_path.path}?{image_path.query}"):
        assert client.head(path).status_code == 200, path


def test_options_on_the_api_docs_is_a_405_not_a_500(client):
    response = client.options("/api/docs/")
    assert response.status_code == 405 and "error" in response.json()


@pytest.mark.parametrize("path", ["/api/predictions/", "/admin/login/"])
def test_a_refused_query_string_costs_the_log_one_line_not_a_traceback(client, path):
    """1,001 parameters on a GET, which anyone may send without limit: 55 lines of traceback each."""
    [handler] = [handler for handler in logging.getLogger("django.security.TooManyFieldsSent").handlers
                 if handler.name == "one_line"]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        response = client.get(path, {f"p{n}": "x" for n in range(1_001)})
    finally:
        handler.setStream(previous)
    assert response.status_code == 400
    logged = stream.getvalue()
    assert logged.startswith("django.security.TooManyFieldsSent: ") and "DATA_UPLOAD_MAX_NUMBER_FIELDS" in logged
    assert "Traceback" not in logged and len(logged.splitlines()) == 1, logged
    # A suspicious file operation would be the site's own bug: its traceback is kept.
    assert logging.getLogger("django.security.SuspiciousFileOperation").propagate
    assert not any(handler.name == "one_line" for handler in logging.getLogger("django.security").handlers)


@pytest.mark.parametrize("method, path, body", [
    ("put", "{id}.json", "image"), ("post", "{id}/feedback.json", {"label": 3}), ("get", "{id}.json", None),
])
def test_drf_s_format_suffixes_are_no_second_url(client, seven, created, method, path, body):
    """`/api/predictions/ID.json` took the owner's update and feedback to a 500 with a traceback."""
    data = {"image": upload(png(seven))} if body == "image" else body
    kwargs = {"data": data} if body == "image" else {"data": data, "content_type": "application/json"} if body else {}
    response = getattr(client, method)(URL + path.format(id=created["id"]), headers=owner(created), **kwargs)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert Prediction.objects.get(pk=created["id"]).reported_label is None
