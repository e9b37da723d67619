"""The site as the benchmarks and the production test run it, on a free port of 127.0.0.1.

`production()` runs `python -m deploy.production` (what `make production` runs: nginx in front
of gunicorn); `bare_gunicorn()` runs gunicorn alone with the same settings, for comparison.
Both use a fresh SQLite database, media and static directory under `workdir`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    env: dict[str, str]
    log: Path


def use_site_settings() -> None:
    """The site's settings in this process, for timing its parts without a server: the defaults
    of a development checkout, without loading the app."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_environment(workdir: Path, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}", "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env | overrides


def wait_until_healthy(server: Server, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server was not healthy within {timeout:.0f} s:\n{server.log.read_text()[-3000:]}")


def stop(server: Server) -> int:
    """SIGTERM, as Ctrl-C or a service manager would stop it; the exit status."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise


@contextlib.contextmanager
def _running(command: list[str], workdir: Path, port: int, env: dict[str, str]) -> Iterator[Server]:
    log = workdir / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", env, log)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        stop(server)


@contextlib.contextmanager
def production(workdir: Path, **overrides: str) -> Iterator[Server]:
    port = free_port()
    env = site_environment(workdir, **{"PORT": str(port), "NGINX_ACCESS_LOG": "off", **overrides})
    with _running([sys.executable, "-m", "deploy.production"], workdir, port, env) as server:
        yield server


@contextlib.contextmanager
def bare_gunicorn(workdir: Path, **overrides: str) -> Iterator[Server]:
    port = free_port()
    env = site_environment(workdir, GUNICORN_BIND=f"127.0.0.1:{port}", **overrides)
    # No collectstatic: the benchmarks ask for no page or static file.
    subprocess.run([sys.executable, "manage.py", "set_up_database", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    with _running([sys.executable, "-m", "gunicorn", "mnistsite.wsgi", "-c", "deploy/gunicorn.conf.py"],
                  workdir, port, env) as server:
        yield server
