"""Slow clients against the site: with nginx in front (`make production`) and with gunicorn alone.

    python -m benchmarks.slow_clients [--drippers 32] [--probes 10]

Opens `--drippers` connections that send their request header a byte every 2 s and as many
that send a body a byte every 2 s (each from its own loopback address, as two attackers), then
asks /healthz `--probes` times from a third address, each with a 10 s timeout, and prints how
many were answered and how fast. Only 127.0.0.x is ever contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import select
import socket
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchmarks import servers

HEADER_START = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
HEADER_DRIP = b"X-Slow: " + b"a" * 10_000
BODY_START = (b"POST /api/predictions/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: 10000\r\n\r\n")
BODY_DRIP = b'{"image": "' + b"A" * 9_000
HEADER_SOURCE, BODY_SOURCE = "127.0.0.2", "127.0.0.3"


class Drippers:
    """Connections from one address that each send a request's start, then one more byte every
    `interval` seconds, from a background thread, until closed."""

    def __init__(self, port: int, source: str, start: bytes, drip: bytes, count: int, interval: float = 2.0):
        self.drip, self.interval, self.sent = drip, interval, 0
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
            sock.sendall(start)
            self.sockets.append(sock)
        self.closed_by_server: set[socket.socket] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.interval):
            byte = self.drip[self.sent:self.sent + 1]
            self.sent += 1
            for sock in self.sockets:
                if sock in self.closed_by_server:
                    continue
                try:
                    sock.send(byte)
                except OSError:
                    self.closed_by_server.add(sock)

    def answered_or_closed(self) -> int:
        """How many the server has answered or closed (their socket has something to read)."""
        readable, _, _ = select.select(self.sockets, [], [], 0)
        return len(set(readable) | self.closed_by_server)

    def close(self):
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


@contextlib.contextmanager
def slow_clients(port: int, count: int):
    headers = Drippers(port, HEADER_SOURCE, HEADER_START, HEADER_DRIP, count)
    bodies = None
    try:
        bodies = Drippers(port, BODY_SOURCE, BODY_START, BODY_DRIP, count)
        yield headers, bodies
    finally:
        headers.close()
        if bodies:
            bodies.close()


def probe(url: str, count: int, timeout: float = 10.0) -> tuple[int, list[float]]:
    """(answered, latencies in ms) of `count` GETs in a row, each given `timeout` seconds."""
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                response.read()
            latencies.append(1000 * (time.perf_counter() - started))
        except OSError:
            pass
    return len(latencies), latencies


def measure(server: servers.Server, drippers: int, probes: int) -> dict:
    port = int(server.url.rsplit(":", 1)[1])
    with slow_clients(port, drippers):
        time.sleep(1)
        answered, latencies = probe(f"{server.url}/healthz", probes)
    return {"answered": answered, "p50": statistics.median(latencies) if latencies else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drippers", type=int, default=32, help="connections dripping headers, and as many bodies")
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    rows = []
    for name, start in (("nginx + gunicorn (make production)", servers.production),
                        ("gunicorn alone", servers.bare_gunicorn)):
        with tempfile.TemporaryDirectory(prefix="slow-clients-") as workdir:
            with start(Path(workdir), WEB_CONCURRENCY=str(args.workers)) as server:
                rows.append((name, measure(server, args.drippers, args.probes)))
    print(f"{args.drippers} connections dripping headers and {args.drippers} dripping bodies, a byte every 2 s; "
          f"{args.workers} gunicorn workers; /healthz asked {args.probes} times, 10 s timeout each\n")
    print("| server | /healthz answered | p50 ms |")
    print("|---|---:|---:|")
    for name, result in rows:
        p50 = f"{result['p50']:.1f}" if result["p50"] is not None else "–"
        print(f"| {name} | {result['answered']} of {args.probes} | {p50} |")


if __name__ == "__main__":
    main()
