"""Load benchmark: gunicorn on 127.0.0.1, real canvas-like PNGs, then a check that nothing was lost.

    python -m benchmarks.load [--concurrency 1 8 32] [--duration 30] [--workers N]

Starts gunicorn (DEBUG off, SQLite in a temporary directory, throttling off) on a free
loopback port, measures the trivial /healthz floor and POST /api/predictions/ at each
concurrency for a bounded time, then checks that every 201 answered has its row and its
file. Prints a Markdown table for the README. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.drawings import Style, encode, render  # noqa: E402 - needs ROOT on the path


def canvas_payloads(count: int) -> list[bytes]:
    """JSON bodies like the page sends: 140x140 RGBA PNGs, dark ink on white, digits of varied size and place."""
    from mlcore.data import load_split

    test = load_split(os.environ.get("MNIST_DATA_DIR", ROOT / "data" / "mnist"), "test")
    rng = np.random.default_rng(0)
    bodies = []
    for index in rng.choice(len(test.labels), size=count, replace=False):
        style = Style(canvas=140, digit_size=int(rng.integers(75, 120)), ink="dark",
                      offset=(int(rng.integers(-10, 10)), int(rng.integers(-10, 10))))
        drawing = encode(render(test.images[index], style).convert("RGBA"))
        url = "data:image/png;base64," + base64.b64encode(drawing).decode()
        bodies.append(json.dumps({"image": url, "source": "api"}).encode())
    return bodies


async def run_level(url: str, bodies: list[bytes] | None, concurrency: int, duration: float) -> dict:
    """Each of `concurrency` clients sends one request after another until the time is up."""
    latencies, statuses, created = [], {}, []
    deadline = time.perf_counter() + duration
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Content-Type": "application/json"}

    async def client(number: int, session: aiohttp.ClientSession):
        sent = number
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            if bodies is None:
                response = await session.get(url)
            else:
                response = await session.post(url, data=bodies[sent % len(bodies)], headers=headers)
            payload = await response.read()
            latencies.append(time.perf_counter() - started)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status == 201:
                created.append(json.loads(payload)["id"])
            sent += concurrency

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(n, session) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    ms = sorted(1000 * latency for latency in latencies)
    return {
        "concurrency": concurrency, "requests": len(ms), "rps": len(ms) / elapsed,
        "p50": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))], "p99": ms[int(0.99 * (len(ms) - 1))],
        "errors": sum(count for status, count in statuses.items() if status >= 400),
        "statuses": statuses, "created": created,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workdir: Path, port: int, workers: int | None) -> tuple[subprocess.Popen, dict]:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "benchmark-" + "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}", "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "PREDICTION_RATE_LIMIT": "1000000/second", "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen([python, "-m", "gunicorn", "mnistsite.wsgi", "-c", "gunicorn.conf.py"],
                              cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        raise SystemExit("gunicorn did not start")
    return server, env


def verify_stored(env: dict, created: list[str]) -> tuple[int, int]:
    """How many answered ids lack their row, and how many rows lack their file."""
    script = (
        "import django, json, sys, os; django.setup();"
        "from recognizer.models import Prediction;"
        "ids = json.load(sys.stdin);"
        "rows = {str(p.id): p.image.path for p in Prediction.objects.filter(id__in=ids)};"
        "print(json.dumps([len(set(ids) - set(rows)), sum(not os.path.isfile(f) for f in rows.values())]))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, input=json.dumps(created), text=True,
                            env={**env, "DJANGO_SETTINGS_MODULE": "mnistsite.settings"},
                            capture_output=True, check=True)
    missing_rows, missing_files = json.loads(result.stdout)
    return missing_rows, missing_files


def in_process_timings(bodies: list[bytes]) -> dict:
    """Decode, preprocess and inference alone, without HTTP, Django or the database."""
    import io

    import torch
    from PIL import Image

    from mlcore.predict import Predictor
    from mlcore.preprocess import to_mnist_input

    torch.set_num_threads(1)
    predictor = Predictor.from_checkpoint(os.environ.get("MNIST_MODEL_PATH", ROOT / "models" / "mnist_cnn.pt"))
    images = [base64.b64decode(json.loads(b)["image"].split(",", 1)[1]) for b in bodies[:200]]
    decode, preprocess, infer = [], [], []
    for content in images * 3:
        t0 = time.perf_counter()
        image = Image.open(io.BytesIO(content))
        image.load()
        t1 = time.perf_counter()
        x = to_mnist_input(image)
        t2 = time.perf_counter()
        predictor.predict(x)
        t3 = time.perf_counter()
        decode.append(t1 - t0), preprocess.append(t2 - t1), infer.append(t3 - t2)
    return {name: 1000 * statistics.median(values)
            for name, values in (("decode", decode), ("preprocess", preprocess), ("inference", infer))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per level (bounded)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not 0 < args.duration <= 120:
        parser.error("--duration must be in (0, 120] seconds")

    bodies = canvas_payloads(args.images)
    timings = in_process_timings(bodies)
    port = free_port()
    # Inside the project, where the default MEDIA_ROOT and SQLite database live, so that the
    # files and the database are written on the same file system as in a default install.
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".benchmark-") as workdir:
        server, env = start_server(Path(workdir), port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(run_level(f"{base}/api/predictions/", bodies, 2, 2.0))  # warm-up
            results = [("GET /healthz (floor)", asyncio.run(run_level(f"{base}/healthz", None, c, args.duration)))
                       for c in args.concurrency]
            results += [("POST /api/predictions/", asyncio.run(run_level(f"{base}/api/predictions/", bodies, c,
                                                                         args.duration)))
                        for c in args.concurrency]
        finally:
            server.terminate()
            server.wait(timeout=30)
        created = [i for _, r in results for i in r["created"]]
        missing_rows, missing_files = verify_stored(env, created)

    print(f"in-process, median ms: decode {timings['decode']:.2f}, preprocess {timings['preprocess']:.2f}, "
          f"inference {timings['inference']:.2f}")
    print(f"gunicorn ({args.workers or 'default'} workers), SQLite, {args.duration:.0f} s per level\n")
    print("| endpoint | concurrency | requests/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results:
        print(f"| {name} | {r['concurrency']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p95']:.2f} | "
              f"{r['p99']:.2f} | {r['errors']} |")
    print(f"\n{len(created)} predictions answered 201; {missing_rows} without a row, {missing_files} without a file")
    if args.json:
        args.json.write_text(json.dumps({"in_process_ms": timings, "results": [
            {k: v for k, v in r.items() if k != "created"} | {"endpoint": name} for name, r in results],
            "created": len(created), "missing_rows": missing_rows, "missing_files": missing_files}, indent=2))
    if missing_rows or missing_files or any(r["errors"] for _, r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
