"""The production stack for real: `python -m deploy.production` (what `make production` runs),
Debian's nginx in front of gunicorn, on a free port with its own database, media and static files."""

import base64
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from benchmarks import servers
from benchmarks.slow_clients import Drippers, probe, slow_clients
from deploy.production import SetupError, access_log, environment, pass_on_without_query_strings, render_nginx_conf

from .drawings import png

pytestmark = pytest.mark.nginx
SLOW_CLIENTS = 32


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("production")
    with servers.production(workdir, WEB_CONCURRENCY="2", NGINX_ACCESS_LOG=str(workdir / "nginx-access.log"),
                            GUNICORN_ACCESS_LOG=str(workdir / "gunicorn-access.log")) as server:
        yield server


def request(url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 10):
    """(status, headers, body) of one request; error statuses are answers too."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers or {}), timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def post_drawing(stack, digit, headers=None):
    body = json.dumps({"image": "data:image/png;base64," + base64.b64encode(png(digit)).decode()}).encode()
    return request(f"{stack.url}/api/predictions/", body, {"Content-Type": "application/json", **(headers or {})})


def port_of(stack) -> int:
    return int(stack.url.rsplit(":", 1)[1])


def test_a_prediction_goes_through_the_proxy(stack, mnist_test):
    status, headers, body = post_drawing(stack, mnist_test.images[0])
    assert status == 201, body
    assert headers["Server"] == "nginx" and json.loads(body)["digit"] == 7


@pytest.mark.parametrize("headers", [{"Content-Type": "application/json; charset=punycode"},
                                     {"Content-Type": "application/json", "Origin": "https://elsewhere.example"}],
                         ids=["foreign charset", "another site"])
def test_a_large_body_refused_before_it_is_read_is_answered_whole(stack, headers):
    """gunicorn closed the connection on the unread bytes, which reset it: 7 of 20 such refusals reached their
    client cut short or as nginx's 502."""
    for _ in range(20):
        status, _, body = request(f"{stack.url}/api/predictions/", b"-" + b"a" * 800_000, headers, timeout=30)
        assert status in (403, 415) and json.loads(body)["error"], body


def test_the_page_s_own_writes_are_accepted_on_a_port_of_its_own(stack, mnist_test):
    """The browser's Origin carries the port; nginx must pass it on in Host, or every write from
    the page is refused as another site's and the drawings' URLs point at port 80."""
    status, _, body = post_drawing(stack, mnist_test.images[0], {"Origin": stack.url})
    assert status == 201, body
    assert json.loads(body)["image_url"].startswith(f"{stack.url}/media/")
    status, _, body = post_drawing(stack, mnist_test.images[0], {"Origin": "http://127.0.0.1"})
    assert status == 403, body


def test_the_access_logs_keep_no_drawing_s_signature(stack, mnist_test):
    """Whoever reads a log must not be able to open the drawings in it; other URLs are logged whole."""
    _, _, body = post_drawing(stack, mnist_test.images[0])
    image_url = json.loads(body)["image_url"]
    path, query = urlsplit(image_url).path, urlsplit(image_url).query
    escaped_path = path.replace("/media/", "/%6Dedia/")
    for url in (image_url, f"{stack.url}{escaped_path}?{query}"):
        status, _, _ = request(url, headers={"Referer": image_url})
        assert status == 200
    status, _, _ = request(f"{stack.url}/healthz?probe=1", headers={"Referer": f"{stack.url}/?page=2"})
    assert status == 200
    time.sleep(0.5)

    nginx_log = (stack.log.parent / "nginx-access.log").read_text()
    gunicorn_log = (stack.log.parent / "gunicorn-access.log").read_text()
    signature = query.removeprefix("signature=")
    assert f'"GET {path} HTTP/1.1" 200' in nginx_log and f'"{stack.url}{path}"' in nginx_log
    assert nginx_log.count(f'"GET {path} HTTP/1.1" 200') == 2
    assert f'"GET /healthz?probe=1 HTTP/1.1" 200' in nginx_log and f'"{stack.url}/?page=2"' in nginx_log
    assert f'"GET {path} HTTP/1.0" 200' in gunicorn_log
    assert signature not in nginx_log and signature not in gunicorn_log


def test_nginx_s_access_log_on_standard_output_keeps_every_line(tmp_path):
    """nginx opens /dev/stdout again, with an offset of its own: into a file opened without appending (`> log`,
    or a service manager's `file:`), gunicorn's lines wrote over its lines, 7 of 1,385 left."""
    with servers.production(tmp_path, WEB_CONCURRENCY="1", NGINX_ACCESS_LOG="/dev/stdout",
                            GUNICORN_ACCESS_LOG="-") as server:
        for _ in range(30):
            request(f"{server.url}/healthz", headers={"User-Agent": "access-log-probe"})
    nginx_lines = re.findall(r'"GET /healthz HTTP/1\.1" 200 \d+ "-" "access-log-probe"', server.log.read_text())
    assert len(nginx_lines) == 30


def test_an_access_log_turned_off_names_no_format():
    """nginx refuses `access_log off signatures_hidden;` (the benchmarks turn the log off)."""
    assert access_log("off") == "off"
    assert access_log("/var/log/digits.log") == "/var/log/digits.log signatures_hidden"


@pytest.mark.parametrize("debug, refused", [(None, False), ("", False), ("0", False), ("off", False),
                                            ("1", True), ("yes", True)])
def test_the_production_stack_runs_with_debug_off_as_the_settings_read_it(monkeypatch, debug, refused):
    """An empty DJANGO_DEBUG, which the settings read as off, was refused."""
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 50)
    if debug is None:
        monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    else:
        monkeypatch.setenv("DJANGO_DEBUG", debug)
    if refused:
        with pytest.raises(SetupError, match="runs with DEBUG off"):
            environment()
    else:
        assert environment()["DJANGO_DEBUG"] in ("0", "off")


def test_a_worker_count_that_is_not_a_number_is_refused_in_a_line(monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 50)
    monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    monkeypatch.setenv("WEB_CONCURRENCY", "two")
    with pytest.raises(SetupError, match=r"^WEB_CONCURRENCY='two' must be an integer"):
        environment()


def test_gunicorn_s_settings_name_a_variable_that_is_not_an_integer():
    result = subprocess.run([Path(sys.executable).parent / "gunicorn", "--check-config", "-c", "deploy/gunicorn.conf.py",
                             "mnistsite.wsgi"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "DJANGO_NUM_PROXIES": "one"})
    assert (result.returncode, result.stderr) == (1, "DJANGO_NUM_PROXIES must be an integer\n")


def test_make_gunicorn_serves_its_pages_with_debug_off(tmp_path):
    """`make gunicorn` set up as `make serve` does, its static files collected with DEBUG on, and gunicorn then
    ran with DEBUG off: every page was a 500 (no hashed name for its style sheet)."""
    port = servers.free_port()
    env = servers.site_environment(tmp_path, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    del env["DJANGO_DEBUG"]  # as an operator runs it: off, by default
    with open(tmp_path / "make.log", "wb") as log:
        make = subprocess.Popen(["make", "--no-print-directory", "gunicorn"], cwd=settings.BASE_DIR, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        servers.wait_until_healthy(servers.Server(make, f"http://127.0.0.1:{port}", env, tmp_path / "make.log"))
        status, _, body = request(f"http://127.0.0.1:{port}/")
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=60)
    assert status == 200, body[-500:]
    assert b'href="/static/recognizer/app.' in body and b'href="/static/recognizer/app.css"' not in body


def test_nginx_listens_where_it_is_told_for_a_balancer_on_another_machine(tmp_path):
    """It listened on 127.0.0.1 alone, which no balancer on another machine can reach."""
    assert "listen 127.0.0.1:8080;" in render_nginx_conf(tmp_path, {})
    assert "listen 10.0.0.5:80;" in render_nginx_conf(tmp_path, {"NGINX_LISTEN": "10.0.0.5:80", "PORT": "8080"})


def test_a_load_balancer_s_health_probe_by_address_is_answered(stack):
    status, _, body = request(f"{stack.url}/healthz", headers={"Host": "10.0.0.5"})
    assert status == 200, body
    status, headers, _ = request(f"{stack.url}/api/predictions/", headers={"Host": "10.0.0.5"})
    assert status == 400 and headers["Content-Type"] == "application/json"


def test_forwarding_headers_from_clients_are_not_passed_on(stack):
    """gunicorn trusts every scheme header from its socket; a client's X-Forwarded-Ssl would
    contradict nginx's X-Forwarded-Proto and get an HTML 400 from gunicorn."""
    status, _, body = request(f"{stack.url}/healthz", headers={"X-Forwarded-Ssl": "on", "X-Forwarded-Protocol": "ssl"})
    assert status == 200, body


def test_a_client_s_own_arrival_stamp_is_replaced_by_nginx_s(stack, mnist_test):
    """Passed on, a stamp from 1970 would have the write refused as too late (recognizer/deadline.py)."""
    status, _, body = post_drawing(stack, mnist_test.images[0], {"X-Request-Start": "t=0"})
    assert status == 201, body


class Replayed:
    """A socket's recorded reply, for http.client to parse as it would a live one."""

    def __init__(self, reply: bytes):
        self.reply = reply

    def makefile(self, mode):
        return io.BytesIO(self.reply)


def raw_exchange(stack, request_bytes: bytes) -> http.client.HTTPResponse:
    """The answer to bytes no well-behaved client library would send."""
    with socket.create_connection(("127.0.0.1", port_of(stack)), timeout=10) as connection:
        connection.sendall(request_bytes)
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    response = http.client.HTTPResponse(Replayed(reply))
    response.begin()
    return response


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"POST /api/predictions/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n"
     b"Connection: close\r\n\r\n{}", 400),
    (b"POST /api/predictions/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", 400),
    (b"TRACE / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 405),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 414),
    (b"GET /api/" + b"a" * 6000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 404),
    (b"GET /api/predictions/x/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
     + b"".join(b"X-%d: 1\r\n" % n for n in range(300)) + b"Connection: close\r\n\r\n", 404),
    (b"GET /../x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 400),
    (b"GET /static/..%2f..%2fdb.sqlite3 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 400),
    (b"GET /%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 400),
    (b"GET /api/\xc3\xa9t\xe9 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 400),
    (b"GET /healthz?q=\xff HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 400),
    (b"GET /_malformed%20\xff HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 400),
    (b"GET /api/%C3%A9t%C3%A9 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 404),
], ids=["two lengths", "length and chunked", "TRACE", "9 KB URL", "6 KB URL", "300 headers",
        "above the root", "escaped above the root", "bad escape", "raw bytes in the path", "raw byte in the query",
        "raw byte after the refusal's own path", "non-ASCII percent-encoded"])
def test_refusals_by_nginx_or_gunicorn_answer_json(stack, request_bytes, status):
    response = raw_exchange(stack, request_bytes)
    body = response.read()
    assert response.status == status, body
    assert response.headers["Content-Type"] == "application/json" and "error" in json.loads(body)


@pytest.mark.parametrize("request_bytes", [
    b"GET /review/?q=" + b"/" * 7000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: " + b"a" * 8181 + b"\r\nConnection: close\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: " + b"1" * 8170 + b"\r\nConnection: close\r\n\r\n",
], ids=["sign-in redirect of a 7 KB query", "8 KB header line", "8 KB X-Forwarded-For"])
def test_what_nginx_admits_is_answered_by_the_site(stack, request_bytes):
    """A sign-in redirect repeats the URL asked, encoded again: past nginx's 4 KiB for an answer's headers it
    was a 502. A header line nginx admits, or the X-Forwarded-For it lengthened, met gunicorn's HTML 431."""
    response = raw_exchange(stack, request_bytes)
    response.read()
    assert response.status in (200, 302), response.status
    if response.status == 302:
        assert response.headers["Location"].startswith("/admin/login/?next=/review/")


def test_nginx_s_error_log_keeps_no_drawing_s_signature(stack, mnist_test):
    """nginx logs the request line and the Referer of what it refuses, and no format of its own hides them."""
    _, _, body = post_drawing(stack, mnist_test.images[0])
    image_url = json.loads(body)["image_url"]
    signature = urlsplit(image_url).query.removeprefix("signature=")
    target = urlsplit(image_url)
    # Django reads `%73ignature` as `signature`: a working URL, spelled so.
    response = raw_exchange(stack, f"POST {target.path}?%73{target.query[1:]} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   f"Referer: {image_url}\r\nContent-Length: {10 ** 9}\r\n"
                                   "Connection: close\r\n\r\n".encode())
    assert response.status == 413
    time.sleep(0.5)
    log = stack.log.read_text()
    assert "client intended to send too large body" in log and target.path in log and signature not in log


def test_static_files_come_from_nginx_with_long_caching_for_hashed_names(stack):
    manifest = json.loads((Path(stack.env["DJANGO_STATIC_ROOT"]) / "staticfiles.json").read_text())
    hashed = manifest["paths"]["recognizer/main.js"]
    status, headers, body = request(f"{stack.url}/static/{hashed}")
    assert status == 200 and len(body) > 1000
    assert "immutable" in headers["Cache-Control"] and headers["Content-Type"] == "application/javascript"
    # A shared cache must not hand the gzipped copy to a client that did not ask for it.
    status, headers, _ = request(f"{stack.url}/static/{hashed}", headers={"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in headers["Vary"]


@pytest.mark.parametrize(("path", "limit"), [("/api/predictions/", "MAX_REQUEST_BYTES"),
                                             ("/admin/login/", "MAX_FORM_BYTES")])
def test_a_body_over_the_limit_is_refused_by_nginx_as_json(stack, path, limit):
    """Only the API takes images; a form of a megabyte elsewhere would cost Django a second to parse."""
    status, headers, body = request(f"{stack.url}{path}", b"x" * (getattr(settings, limit) + 1),
                                    {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413 and headers["Content-Type"] == "application/json"
    assert "limit" in json.loads(body)["error"]


def test_slow_clients_do_not_stop_the_site(stack, mnist_test):
    """32 connections drip their headers and 32 their bodies, a byte every 2 s, each group from
    its own address; the site keeps answering a third address, and the header timeout ends the
    header drippers."""
    with slow_clients(port_of(stack), SLOW_CLIENTS) as (headers, bodies):
        answered, _ = probe(f"{stack.url}/healthz", 5)
        assert answered == 5
        status, _, body = post_drawing(stack, mnist_test.images[0])
        assert status == 201 and json.loads(body)["digit"] == 7
        # A 33rd connection from the body drippers' address is over the per-client limit.
        extra = Drippers(port_of(stack), "127.0.0.3", b"POST /api/predictions/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Length: 100\r\n\r\n", b"", 1)
        try:
            reply = io.BytesIO()
            extra.sockets[0].settimeout(10)
            while chunk := extra.sockets[0].recv(4096):
                reply.write(chunk)
        finally:
            extra.close()
        assert reply.getvalue().startswith(b"HTTP/1.1 429 ") and b'"error"' in reply.getvalue()
        assert headers.answered_or_closed() == 0 and bodies.answered_or_closed() == 0
        # nginx's client_header_timeout is 10 s for the whole header; the bodies keep arriving
        # within client_body_timeout between two bytes, so those stay.
        deadline = time.monotonic() + 30
        while headers.answered_or_closed() < SLOW_CLIENTS and time.monotonic() < deadline:
            time.sleep(0.5)
        assert headers.answered_or_closed() == SLOW_CLIENTS
        assert bodies.answered_or_closed() == 0
        assert probe(f"{stack.url}/healthz", 1)[0] == 1


def test_without_a_secret_key_it_says_what_to_set(tmp_path):
    env = servers.site_environment(tmp_path)
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run([sys.executable, "-m", "deploy.production"], cwd=servers.ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "DJANGO_SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()


def test_a_database_it_cannot_reach_is_said_in_a_line(tmp_path):
    """The setting up failed with the launcher's traceback below manage.py's line."""
    env = servers.site_environment(tmp_path, DATABASE_URL="postgres://digits@127.0.0.1:9/digits")
    result = subprocess.run([sys.executable, "-m", "deploy.production"], cwd=servers.ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "cannot set up the database (digits)" in result.stderr


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def live_group_members(leader: int) -> list[int]:
    """Running processes in the group `leader` leads: an nginx master's workers outlive it
    otherwise. A zombie is dead and holds nothing; it waits only for its new parent to reap it,
    which an init that does not reap never does."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except OSError:
            continue
        if int(group) == leader and state != "Z":
            members.append(int(stat.parent.name))
    return members


def test_a_second_sigterm_while_stopping_is_no_traceback(tmp_path):
    """A service manager stops the whole group and make passes its SIGTERM on as well: the second landed
    in the stopping, a traceback and exit 1, and the run directory went under a gunicorn still stopping."""
    with servers.production(tmp_path, WEB_CONCURRENCY="1") as server:
        gunicorn = next(child for child in children(server.process.pid)
                        if b"gunicorn" in Path(f"/proc/{child}/cmdline").read_bytes())
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0
    log = server.log.read_text()
    assert "Traceback" not in log and live_group_members(gunicorn) == []


def test_a_request_in_flight_as_the_stack_stops_is_answered(tmp_path, mnist_test):
    """Stopped together, nginx at once (SIGTERM is its fast shutdown): the requests in flight were stored, and
    their clients never answered. Its body half sent as the stop comes, this one is answered."""
    body = json.dumps({"image": "data:image/png;base64," + base64.b64encode(png(mnist_test.images[0])).decode()})
    with servers.production(tmp_path, WEB_CONCURRENCY="1") as server:
        connection = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=30)
        connection.putrequest("POST", "/api/predictions/")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        connection.send(body[:len(body) // 2].encode())
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1)
        connection.send(body[len(body) // 2:].encode())
        response = connection.getresponse()
        assert response.status == 201, response.read()
        assert json.loads(response.read())["digit"] == 7
        assert server.process.wait(timeout=60) == 0


def test_when_nginx_dies_gunicorn_is_stopped_too(stack):
    """Runs last: it ends the module's stack."""
    nginx, gunicorn = None, None
    for child in children(stack.process.pid):
        command = Path(f"/proc/{child}/cmdline").read_bytes()
        nginx = child if b"nginx" in command else nginx
        gunicorn = child if b"gunicorn" in command else gunicorn
    assert nginx and gunicorn
    os.kill(nginx, signal.SIGKILL)
    assert stack.process.wait(timeout=60) == 1
    # SIGKILL takes effect when the kernel next schedules the process, not when kill() returns.
    deadline = time.monotonic() + 5
    while (live_group_members(nginx) or live_group_members(gunicorn)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live_group_members(nginx) == [] and live_group_members(gunicorn) == []


def test_nginx_s_error_lines_are_read_on_when_they_cannot_be_passed_on():
    """nginx blocks on a full pipe: the copy stopping at a closed stderr would in time stop the site."""
    class Closed(io.BytesIO):
        def write(self, data):
            raise BrokenPipeError

    lines = [b'request: "GET /media/drawings/a.png?%73ignature=abc:def HTTP/1.1", referrer: "http://h/m?x=1"\n'] * 3
    source = iter(lines)
    pass_on_without_query_strings(source, Closed())
    assert next(source, None) is None
    copied = io.BytesIO()
    pass_on_without_query_strings(lines, copied)
    assert copied.getvalue() == b'request: "GET /media/drawings/a.png?- HTTP/1.1", referrer: "http://h/m?-"\n' * 3
