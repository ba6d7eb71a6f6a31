"""Fetch benchmark: 200 feeds served locally with 100 ms latency each; cold vs warm (all 304).

    python bench/bench_fetch.py [--feeds 200] [--latency 0.1] [--hosts 50]

The server runs in a child process (asyncio, one listener per loopback
address 127.0.1.x so the per-host limit applies as it would on the web).
Prints the cold time against the floor (feeds × latency ÷ allowed
concurrency), the warm time (every feed answers 304, nothing parsed), and
peak memory of the fetching process. Targets: cold within 1.5× the floor,
warm at least 5× faster than cold, peak RSS under 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ITEM = "<item><title>Feed {f} story {n}: notes on running services</title><link>https://site{f}.example/posts/{n}</link><guid>f{f}-{n}</guid><pubDate>Mon, 06 Oct 2025 0{h}:00:00 GMT</pubDate><description>&lt;p&gt;{text}&lt;/p&gt;</description></item>"
TEXT = "A paragraph about deployments, queues and the people who keep them running. " * 12


def feed_body(number: int, count: int = 20) -> bytes:
    items = "".join(ITEM.format(f=number, n=n, h=n % 10, text=TEXT) for n in range(count))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {number}</title><link>https://site{number}.example/</link>{items}</channel></rss>'.encode()


def serve(hosts: list[str], port: int, feeds: int, items: int, latency: float, ready: "multiprocessing.synchronize.Event", stop: "multiprocessing.synchronize.Event") -> None:
    bodies = {f"/feed/{n}": feed_body(n, items) for n in range(feeds)}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
                await asyncio.sleep(latency)
                body = bodies.get(path, b"")
                etag = f'"{path}-v1"'
                if headers.get("if-none-match") == etag:
                    writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode())
                else:
                    writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: {etag}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = [await asyncio.start_server(handle, host, port) for host in hosts]
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for s in servers:
            s.close()

    asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--items", type=int, default=20, help="entries per feed (each with a ~1 KB HTML summary)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--per-host", type=int, default=2)
    args = parser.parse_args()

    from generator.config import load_site
    from generator.ingest.state import open_fetch_store
    from generator.ingest.subscriptions import load_subscriptions
    from generator.net.fetch import client_settings, run_fetch

    hosts = [f"127.0.1.{n + 1}" for n in range(args.hosts)]
    port = 18000 + (int(time.time()) % 1000)
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(hosts, port, args.feeds, args.items, args.latency, ready, stop), daemon=True)
    server.start()
    try:
        if not ready.wait(10):
            print("server did not start", file=sys.stderr)
            return 1
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "feeds").mkdir()
            (root / "tidings.yaml").write_text(
                "title: Bench\nbase_url: https://bench.example/\n"
                f"fetch: {{allow_private: true, concurrency: {args.concurrency}, per_host: {args.per_host}, read_timeout: 10, total_timeout: 30}}\n"
            )
            lines = ["sources:"] + [f"  - {{name: Feed {n}, url: 'http://{hosts[n % len(hosts)]}:{port}/feed/{n}'}}" for n in range(args.feeds)]
            (root / "feeds" / "feeds.yaml").write_text("\n".join(lines) + "\n")
            site = load_site(root)
            subs = load_subscriptions(root)
            allowed = min(args.concurrency, len(hosts) * args.per_host)
            floor = args.feeds * args.latency / allowed
            timings = []
            for label in ("cold", "warm"):
                store = open_fetch_store(site)
                own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                reports = run_fetch(subs, store, client_settings(site))
                elapsed = time.perf_counter() - start
                own_after, workers_after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu_main = own_after.ru_utime + own_after.ru_stime - own.ru_utime - own.ru_stime
                cpu_workers = workers_after.ru_utime + workers_after.ru_stime - workers.ru_utime - workers.ru_stime
                store.store.close()
                statuses: dict[str, int] = {}
                for r in reports:
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                timings.append(elapsed)
                print(f"{label}: {elapsed:.2f}s  statuses={statuses}  new entries={sum(r.new for r in reports)}  "
                      f"CPU: fetching process {cpu_main:.2f}s, parse workers {cpu_workers:.2f}s  load average {os.getloadavg()[0]:.1f}")
                for error in sorted({r.error for r in reports if r.error})[:3]:
                    print(f"  error: {error}")
            cold, warm = timings
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"feeds={args.feeds} latency={args.latency * 1000:.0f}ms allowed concurrency={allowed} ({args.concurrency} global, {args.per_host}/host × {len(hosts)} hosts)")
            print(f"floor={floor:.2f}s  cold={cold:.2f}s ({cold / floor:.2f}× floor, target ≤ 1.5×)")
            print(f"warm={warm:.2f}s  cold/warm={cold / warm:.1f}× (target ≥ 5×; every feed answered 304, nothing parsed)")
            print(f"peak RSS of the fetching process={peak_mb:.0f} MB (target < 150 MB)")
    finally:
        stop.set()
        server.join(5)
        if server.is_alive():
            server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
