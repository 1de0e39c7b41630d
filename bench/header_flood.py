"""What oversized and slow requests cost a running server: `everypenny serve` is started on a fresh SQLite
database, then attacked as an outsider would, and the figures printed (docs/security.md keeps them).

- header floods: N connections each sending one huge header; the server's resident memory at its peak
  (VmHWM, reset before each flood) and the status line each client got back;
- many headers: one request with thousands of small headers;
- slow headers (slowloris): connections that send one header line a second and never finish the head;
- slow bodies: connections that declare a body and send one byte a second;
  for both, how long the server holds each connection open (capped at --hold seconds).

    python bench/header_flood.py                 # the issue's floods: 20 x 20 MiB, 8 x 100 MiB, 300 slow
    python bench/header_flood.py --quick         # smaller, for a busy machine
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path, port: int) -> subprocess.Popen:
    everypenny = Path(sys.executable).parent / "everypenny"
    env = {**os.environ, "EVERYPENNY_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
           "EVERYPENNY_LOG_LEVEL": "WARNING"}
    subprocess.run([everypenny, "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([everypenny, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=open(folder / "server.log", "wb"))  # noqa: SIM115 (closed with the process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not start: {(folder / 'server.log').read_text()[-2000:]}")


def memory_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    """Makes VmHWM start again from the current RSS (proc(5), clear_refs "5")."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def status_line(reader: asyncio.StreamReader) -> str:
    try:
        line = await asyncio.wait_for(reader.readline(), timeout=30)
    except (OSError, TimeoutError):
        return "(no answer)"
    return line.decode("latin-1").strip() or "(closed, no answer)"


async def send_huge_header(port: int, size: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    chunk = b"a" * MIB
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Flood: ")
        for _ in range(size // MIB):
            writer.write(chunk)
            await writer.drain()
        writer.write(b"\r\n\r\n")
        await writer.drain()
    except OSError:
        pass  # the server stopped reading and closed: what a bounded server does
    answer = await status_line(reader)
    writer.close()
    return answer


async def send_many_headers(port: int, count: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(count)) + b"\r\n"
    try:
        writer.write(head)
        await writer.drain()
    except OSError:
        pass
    answer = await status_line(reader)
    writer.close()
    return answer


async def held_open(port: int, opening: bytes, trickle: bytes, hold_s: float) -> float:
    """Seconds until the server closes a connection that sends `opening`, then `trickle` once a second."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(opening)

    async def trickling() -> None:
        while True:
            await asyncio.sleep(1)
            writer.write(trickle)
            await writer.drain()

    sender = asyncio.create_task(trickling())
    try:
        while time.monotonic() - started < hold_s:
            data = await asyncio.wait_for(reader.read(65536), timeout=hold_s)
            if not data:
                break
    except (OSError, TimeoutError):
        pass
    finally:
        sender.cancel()
        writer.close()
    return min(time.monotonic() - started, hold_s)


def summary(held: list[float], hold_s: float) -> str:
    still_open = sum(1 for seconds in held if seconds >= hold_s)
    return (f"closed after median {statistics.median(held):.1f} s, max {max(held):.1f} s; "
            f"{still_open} of {len(held)} still open at the {hold_s:.0f} s cap")


async def flood(pid: int, port: int, connections: int, size: int) -> None:
    reset_peak(pid)
    before = memory_mib(pid, "VmRSS")
    answers = await asyncio.gather(*(send_huge_header(port, size) for _ in range(connections)))
    peak = memory_mib(pid, "VmHWM")
    print(f"header flood {connections} x {size // MIB} MiB: RSS {before:.0f} MiB before, peak {peak:.0f} MiB, "
          f"after {memory_mib(pid, 'VmRSS'):.0f} MiB; answers: {sorted(set(answers))}", flush=True)


async def attack(pid: int, port: int, args: argparse.Namespace) -> None:
    print(f"idle server: RSS {memory_mib(pid, 'VmRSS'):.0f} MiB", flush=True)
    for connections, size_mib in args.floods:
        await flood(pid, port, connections, size_mib * MIB)
    print(f"{args.many_headers} headers in one request: {await send_many_headers(port, args.many_headers)}",
          flush=True)
    slow_head = [held_open(port, b"GET /healthz HTTP/1.1\r\nHost: bench\r\n", b"X-Slow: 1\r\n", args.hold)
                 for _ in range(args.slow)]
    print(f"{args.slow} slow-header connections: {summary(await asyncio.gather(*slow_head), args.hold)}", flush=True)
    slow_body = [held_open(port, b"POST /webhooks/stripe HTTP/1.1\r\nHost: bench\r\nContent-Type: "
                                 b"application/json\r\nContent-Length: 10000\r\n\r\n", b"a",
                           args.hold)
                 for _ in range(args.slow)]
    print(f"{args.slow} slow-body connections: {summary(await asyncio.gather(*slow_body), args.hold)}", flush=True)
    print(f"after the slow connections: healthz answers in "
          f"{await asyncio.to_thread(healthz_seconds, port):.3f} s", flush=True)


def healthz_seconds(port: int) -> float:
    started = time.monotonic()
    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30).close()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 x 20 MiB and 1 x 100 MiB floods, 50 slow clients")
    parser.add_argument("--hold", type=float, default=60.0, help="give up on a slow connection after this long")
    args = parser.parse_args()
    args.floods = [(2, 20), (1, 100)] if args.quick else [(20, 20), (8, 100)]
    args.slow = 50 if args.quick else 300
    args.many_headers = 10_000
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        server = start_server(Path(folder), port)
        try:
            asyncio.run(attack(server.pid, port, args))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
