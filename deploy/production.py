"""The production stack in the foreground: nginx on $NGINX_LISTEN (127.0.0.1:$PORT) in front of gunicorn.

    .venv/bin/python -m deploy.production        (what `make production` runs)

Sets up first (`manage.py set_up_server`: migrate and register the model, one server at a time; collectstatic;
check --deploy), then runs gunicorn on a Unix socket and nginx in front of it, both with their settings
from the environment. Everything they write goes to a fresh run directory, removed at the end. Ctrl-C or SIGTERM stops both; if either exits, the
other is stopped too, and the exit status says that something failed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
# nginx admits a request line and header lines up to its 8 KiB buffers, 32 KiB of headers in all, and
# makes X-Forwarded-For longer by the client's address; gunicorn's smaller defaults would refuse some of
# what nginx passed, in HTML.
NGINX_HEADER_LIMITS = ("--limit-request-line", "8190", "--limit-request-fields", "8192",
                       "--limit-request-field_size", "16384")
# nginx's error log names a refused request's line and Referer whole (a 413, a 429 of `limit_conn`, a
# 502): its format cannot hide a drawing's signature as the access log's does, so its lines are passed
# on with no query string (a signature may be spelled `%73ignature=`, and Django reads it so).
QUERY = re.compile(rb"\?[^\s\"]+")


class SetupError(Exception):
    """The stack cannot start; the message tells the operator what to do."""


def environment() -> dict[str, str]:
    """The settings both processes run with: the caller's, with production defaults filled in."""
    env = dict(os.environ)
    if not env.get("DJANGO_SECRET_KEY"):
        raise SetupError("DJANGO_SECRET_KEY is not set; generate one with\n"
                         "  export DJANGO_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')")
    # Empty is unset, as the settings read it.
    env["DJANGO_DEBUG"] = env.get("DJANGO_DEBUG") or "0"
    if env["DJANGO_DEBUG"].lower() not in ("0", "false", "no", "off"):
        raise SetupError(f"DJANGO_DEBUG={env['DJANGO_DEBUG']!r}: the production stack runs with DEBUG off; "
                         "unset it or set it to 0")
    # gunicorn reads WEB_CONCURRENCY as it is imported, before deploy/gunicorn.conf.py, and a typo was a traceback.
    try:
        int(env.get("WEB_CONCURRENCY", "1"))
    except ValueError:
        raise SetupError(f"WEB_CONCURRENCY={env['WEB_CONCURRENCY']!r} must be an integer: the number of gunicorn "
                         "workers") from None
    # nginx is one proxy: the throttle counts the address nginx saw, the last in X-Forwarded-For.
    env.setdefault("DJANGO_NUM_PROXIES", "1")
    return env


def render_nginx_conf(run_dir: Path, env: dict[str, str]) -> str:
    from django.conf import settings  # the settings module alone, read from `env`; no app is loaded

    trusted = [address.strip() for address in env.get("NGINX_TRUSTED_PROXIES", "").split(",") if address.strip()]
    values = {
        # As root, nginx would switch its workers to `nobody`, who may not read the checkout or
        # the run directory; they run as whoever runs the stack, as gunicorn's workers do.
        "user": "user root;" if os.geteuid() == 0 else "",
        "workers": env.get("NGINX_WORKERS", "1"),
        "run_dir": str(run_dir),
        "access_log": access_log(env.get("NGINX_ACCESS_LOG") or "/dev/stdout"),
        "max_body_bytes": str(settings.MAX_REQUEST_BYTES),
        "max_form_bytes": str(settings.MAX_FORM_BYTES),
        "connections_per_client": env.get("NGINX_CONNECTIONS_PER_CLIENT", "32"),
        "trusted_proxies": "".join(f"        {address} 1;\n" for address in trusted),
        "real_ip": "".join(f"    set_real_ip_from {address};\n" for address in trusted)
                   + ("    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;\n" if trusted else ""),
        "socket": str(run_dir / "gunicorn.sock"),
        "listen": listen_address(env),
        "static_root": str(settings.STATIC_ROOT),
        "health_host": health_check_host(settings.ALLOWED_HOSTS),
    }
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], (DEPLOY / "nginx.conf").read_text())


def listen_address(env: dict[str, str]) -> str:
    return env.get("NGINX_LISTEN") or f"127.0.0.1:{env.get('PORT', '8080')}"


def access_log(path: str) -> str:
    """The access_log directive's arguments: `off`, or the path in the format that hides signatures."""
    return path if path == "off" else f"{path} signatures_hidden"


def health_check_host(allowed_hosts: list[str]) -> str:
    """A host name the app accepts, for probes that address the machine rather than the site."""
    for pattern in allowed_hosts:
        if pattern != "*":
            return pattern.lstrip(".")
    return "localhost"


def nginx_binary() -> str:
    # Debian puts it in /usr/sbin, which is not on an unprivileged user's PATH.
    found = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if found is None:
        raise SetupError("nginx is not installed; `scripts/system-packages nginx` installs Debian's package")
    return found


def pass_on_without_query_strings(lines, out) -> None:
    """Copy each line to `out`, each query string in it replaced by "?-". Read to the end whatever becomes of
    `out`: an nginx whose error log nobody reads blocks once the pipe is full, and the site with it."""
    for line in lines:
        try:
            out.write(QUERY.sub(rb"?-", line))
            out.flush()
        except (OSError, ValueError):
            continue


def wait_for_socket(path: Path, gunicorn: subprocess.Popen) -> None:
    """nginx starts once gunicorn listens, so that the first requests do not meet a 502."""
    for _ in range(300):
        if path.exists() or gunicorn.poll() is not None:
            return
        time.sleep(0.1)


# nginx's graceful shutdown; gunicorn's is SIGTERM.
STOP_SIGNALS = {"nginx": signal.SIGQUIT}


def supervise(processes: dict[str, subprocess.Popen]) -> int:
    """Wait until a process exits or a signal asks to stop; then stop them all. The exit status.

    Each process leads its own process group, stopped as a whole: an nginx master that dies
    leaves its workers behind, still listening, and they go with the group.
    """
    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    status = 0
    try:
        pid, _ = os.wait()
        name = next(name for name, process in processes.items() if process.pid == pid)
        print(f"{name} exited; stopping the stack", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        pass
    finally:
        # A service manager stops the whole group, and make passes its SIGTERM on too: the second, raised
        # in the waits below, skipped them and removed the run directory under a gunicorn still stopping.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # The last started first, and each gracefully, one after the other: nginx stops taking connections and
        # answers the requests it holds, which gunicorn still has to serve. Stopped together (SIGTERM is a fast
        # shutdown to nginx), the requests in flight were stored and never answered.
        for name, process in reversed(processes.items()):
            signal_group(process, STOP_SIGNALS.get(name, signal.SIGTERM))
            try:
                process.wait(timeout=35)
            except subprocess.TimeoutExpired:
                signal_group(process, signal.SIGKILL)
                process.wait()
            # The master is gone; whatever it left in its group goes too.
            signal_group(process, signal.SIGKILL)
    return status



def signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def main() -> int:
    try:
        env = environment()
        nginx = nginx_binary()
    except SetupError as exc:
        print(f"make production: {exc}", file=sys.stderr)
        return 2
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")
    if subprocess.run([sys.executable, "manage.py", "set_up_server"], cwd=ROOT, env=env).returncode:
        return 1   # manage.py has said why, in a line
    with tempfile.TemporaryDirectory(prefix="digits-production-") as run:
        run_dir = Path(run)
        (run_dir / "nginx.conf").write_text(render_nginx_conf(run_dir, env))
        socket = run_dir / "gunicorn.sock"
        processes = {"gunicorn": subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "mnistsite.wsgi", "-c", str(DEPLOY / "gunicorn.conf.py"),
             "--bind", f"unix:{socket}", *NGINX_HEADER_LIMITS], cwd=ROOT, env=env, process_group=0)}
        wait_for_socket(socket, processes["gunicorn"])
        # Both through pipes: nginx opens /dev/stdout again for its access log, with an offset of its own, and
        # where the launcher's output is a file opened without appending, gunicorn's lines wrote over its lines.
        processes["nginx"] = subprocess.Popen(
            [nginx, "-e", "stderr", "-p", str(run_dir), "-c", str(run_dir / "nginx.conf"), "-g", "daemon off;"],
            cwd=run_dir, env=env, process_group=0, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for lines, out in ((processes["nginx"].stdout, sys.stdout.buffer), (processes["nginx"].stderr, sys.stderr.buffer)):
            threading.Thread(target=pass_on_without_query_strings, args=(lines, out), daemon=True).start()
        print(f"serving http://{listen_address(env)}/ (nginx in front of gunicorn); Ctrl-C stops",
              file=sys.stderr)
        return supervise(processes)


if __name__ == "__main__":
    sys.exit(main())
