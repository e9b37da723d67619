"""Load benchmark: the production stack on 127.0.0.1, real canvas-like PNGs, then a check that nothing was lost.

    python -m benchmarks.load [--server production gunicorn] [--concurrency 1 8 32] [--duration 30] [--workers N]

Starts the site as `make production` runs it (nginx in front of gunicorn, DEBUG off) and, for
comparison, gunicorn alone, each with SQLite in a temporary directory and throttling off, on a
free loopback port. Measures the trivial /healthz floor and POST /api/predictions/ at each
concurrency for a bounded time, then checks that every 201 answered has its row and its file.
Absolute times differ between machines, so each figure is also given as a ratio to the floor
measured in the same run. Prints Markdown tables for the README. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
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

from benchmarks import servers  # noqa: E402 - needs ROOT on the path
from tests.drawings import Style, encode, render  # noqa: E402


def canvas_payloads(count: int) -> list[bytes]:
    """JSON bodies like the page sends: 140x140 RGBA PNGs, dark ink on white, digits of varied size and place."""
    from mlcore.mnist import load_split

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
    """The site's own decoding, preprocessing, inference and re-encoding for storage, without
    HTTP, the views or the database."""
    import torch

    from mlcore.predict import Predictor
    from mlcore.preprocess import to_mnist_input

    servers.use_site_settings()
    from django.conf import settings

    from recognizer import imaging

    torch.set_num_threads(1)
    predictor = Predictor.from_checkpoint(settings.MNIST_MODEL_PATH)
    images = [base64.b64decode(json.loads(b)["image"].split(",", 1)[1]) for b in bodies[:200]]
    steps = {"decode": [], "preprocess": [], "inference": [], "encode": []}
    for content in images * 3:
        t0 = time.perf_counter()
        drawing = imaging.decode(content)
        t1 = time.perf_counter()
        x = to_mnist_input(drawing.image)
        t2 = time.perf_counter()
        predictor.predict(x)
        t3 = time.perf_counter()
        drawing.content  # the bytes to store are encoded on first use
        t4 = time.perf_counter()
        for step, seconds in zip(steps.values(), (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            step.append(seconds)
    return {name: 1000 * statistics.median(values) for name, values in steps.items()}


def measure_server(start, args, bodies) -> tuple[list, int, int]:
    """Results per (endpoint, concurrency) for one server, and how many answered ids lack a row or a file."""
    overrides = {"PREDICTION_RATE_LIMIT": "", "IMAGE_RATE_LIMIT": "", "NEW_DRAWINGS_LIMIT": "",
                 "NGINX_CONNECTIONS_PER_CLIENT": "1000"}
    if args.workers:
        overrides["WEB_CONCURRENCY"] = str(args.workers)
    # Inside the project, where the default MEDIA_ROOT and SQLite database live, so that the
    # files and the database are written on the same file system as in a default install.
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".benchmark-") as workdir:
        with start(Path(workdir), **overrides) as server:
            base = server.url
            asyncio.run(run_level(f"{base}/api/predictions/", bodies, 2, 2.0))  # warm-up
            results = [("GET /healthz (floor)", asyncio.run(run_level(f"{base}/healthz", None, c, args.duration)))
                       for c in args.concurrency]
            results += [("POST /api/predictions/", asyncio.run(run_level(f"{base}/api/predictions/", bodies, c,
                                                                         args.duration)))
                        for c in args.concurrency]
        created = [i for _, r in results for i in r["created"]]
        missing_rows, missing_files = verify_stored(server.env, created)
    return results, missing_rows, missing_files


def print_table(title: str, results: list) -> None:
    floors = {r["concurrency"]: r for name, r in results if name.startswith("GET /healthz")}
    print(f"\n{title}\n")
    print("| endpoint | concurrency | requests/s | p50 ms | p95 ms | p99 ms | errors | p50 / floor p50 | "
          "requests/s / floor's |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results:
        floor = floors[r["concurrency"]]
        print(f"| {name} | {r['concurrency']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p95']:.2f} | "
              f"{r['p99']:.2f} | {r['errors']} | {r['p50'] / floor['p50']:.2f} | {r['rps'] / floor['rps']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", nargs="+", choices=list(SERVERS), default=list(SERVERS))
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per level (bounded)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: deploy/gunicorn.conf.py's)")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not 0 < args.duration <= 120:
        parser.error("--duration must be in (0, 120] seconds")

    bodies = canvas_payloads(args.images)
    timings = in_process_timings(bodies)
    measured = {name: measure_server(SERVERS[name][1], args, bodies) for name in args.server}

    print("in-process, median ms: " + ", ".join(f"{step} {ms:.2f}" for step, ms in timings.items()))
    print(f"{args.workers or 'default'} gunicorn workers, SQLite, {args.duration:.0f} s per level")
    lost = False
    for name, (results, missing_rows, missing_files) in measured.items():
        print_table(SERVERS[name][0], results)
        created = sum(len(r["created"]) for _, r in results)
        print(f"\n{created} predictions answered 201; {missing_rows} without a row, {missing_files} without a file")
        lost |= bool(missing_rows or missing_files or any(r["errors"] for _, r in results))
    if len(measured) == 2:
        print("\n| concurrency | predictions/s, production / gunicorn alone |\n|---:|---:|")
        for mine, theirs in zip(measured["production"][0], measured["gunicorn"][0]):
            if mine[0].startswith("POST"):
                print(f"| {mine[1]['concurrency']} | {mine[1]['rps'] / theirs[1]['rps']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"in_process_ms": timings, "servers": {
            name: {"results": [{k: v for k, v in r.items() if k != "created"} | {"endpoint": endpoint}
                               for endpoint, r in results],
                   "missing_rows": missing_rows, "missing_files": missing_files}
            for name, (results, missing_rows, missing_files) in measured.items()}}, indent=2))
    if lost:
        raise SystemExit(1)


SERVERS = {
    "production": ("nginx in front of gunicorn (`make production`)", servers.production),
    "gunicorn": ("gunicorn alone", servers.bare_gunicorn),
}


if __name__ == "__main__":
    main()
