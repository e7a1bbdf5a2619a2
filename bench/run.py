"""Benchmark the lookup API against the same server's trivial endpoint, on SQLite and PostgreSQL.

    .venv/bin/python bench/run.py                      # 1k/10k, 10k/1M, 100k/1M; both engines; 1, 2 workers
    .venv/bin/python bench/run.py --sizes 10000:1000000 --engines postgres --workers 2

For each engine and dataset size it generates the data (bench/generate.py), starts `registry serve`
as in production, and drives it with wrk (Debian package `wrk`) on loopback, 64 connections. The
trivial endpoint is GET /health/live (answers without touching the database), measured in the same run:
ratios are to it; GET /health (readiness: one `SELECT 1`) is measured too. Each
lookup is measured as integrations call it (the same question again: answered from the worker's answer
cache, which any write empties) and with `Cache-Control: no-cache` (every answer computed afresh).
Prints a Markdown table; medians of --repeat runs.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.pg import Cluster, find_binaries  # noqa: E402

PYTHON = sys.executable
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def registry(url: str, *args: str) -> str:
    env = {**os.environ, "REGISTRY_DATABASE_URL": url}
    return subprocess.run(
        [PYTHON, "-m", "registry", *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def wrk(
    url: str, key: str, seconds: int, connections: int, script: Path | None = None, fresh: bool = False
) -> dict:
    command = [
        "wrk",
        "-t1",  # one wrk thread keeps 64 connections busy and leaves the server more of the 2 cores
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {key}",
    ]
    if fresh:  # bypass the lookup answer cache: every request computes its answer
        command += ["-H", "Cache-Control: no-cache"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s)\b", out)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": latency["50"],
        "p99": latency["99"],
        "errors": int(errors.group(1)) if errors else 0,
    }


def serve(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    """`registry serve` as in production."""
    return start_server(
        url, lambda port: ["-m", "registry", "serve", "--port", str(port), "--workers", str(workers)]
    )


def start_server(url: str, arguments) -> tuple[subprocess.Popen, str]:
    """Starts ``python <arguments(port)>`` on a free port and waits until it answers /health/live."""
    port = free_port()
    env = {**os.environ, "REGISTRY_DATABASE_URL": url}
    process = subprocess.Popen(
        [PYTHON, *arguments(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/health/live").status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def bench_one(url: str, workers: int, key: str, args, vendor_id: int) -> dict[str, dict]:
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    check = work / "check.lua"
    check.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.body = \'{{"vendor": {vendor_id}, "categories": ["user.contact.email"], "on": "2025-06-01"}}\'\n'
    )
    server, base = serve(url, workers)
    recipients = f"{base}/lookup/recipients?category=user.biometric.retinal&as_of=2025-06-01&limit=100"
    targets = {
        "trivial GET /health/live": (f"{base}/health/live", None, False),
        "GET /health (one SELECT 1)": (f"{base}/health", None, False),
        "GET /lookup/recipients": (recipients, None, False),
        "POST /lookup/check": (f"{base}/lookup/check", check, False),
        "GET /lookup/recipients, no-cache": (recipients, None, True),
        "POST /lookup/check, no-cache": (f"{base}/lookup/check", check, True),
    }
    results: dict[str, dict] = {}
    try:
        for name, (target, script, fresh) in targets.items():
            wrk(target, key, 2, args.connections, script, fresh)  # warm-up
            runs = [
                wrk(target, key, args.seconds, args.connections, script, fresh) for _ in range(args.repeat)
            ]
            results[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument(
        "--sizes", nargs="+", default=["1000:10000", "10000:1000000", "100000:1000000"], help="vendors:rows"
    )
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    cluster = Cluster(find_binaries()) if "postgres" in args.engines else None
    server_url = cluster.start() if cluster else None
    print(
        "| engine | vendors | rows | workers | endpoint | req/s | p50 ms | p99 ms | non-2xx | ratio to trivial |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    try:
        for engine in args.engines:
            for size in args.sizes:
                vendors, rows = map(int, size.split(":"))
                scratch = Path(tempfile.mkdtemp(prefix="bench-db-"))
                if engine == "sqlite":
                    url = f"sqlite:///{scratch / 'bench.sqlite3'}"
                else:
                    name = f"bench_{vendors}_{rows}"
                    subprocess.run(
                        ["psql", f"{server_url}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
                        check=True,
                    )
                    subprocess.run(
                        ["psql", f"{server_url}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True
                    )
                    url = f"{server_url}/{name}"
                subprocess.run(
                    [
                        PYTHON,
                        str(ROOT / "bench" / "generate.py"),
                        "--url",
                        url,
                        "--vendors",
                        str(vendors),
                        "--rows",
                        str(rows),
                    ],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                key = registry(url, "keys", "create", "bench", "--role", "lookup").strip()
                for workers in args.workers:
                    results = bench_one(url, workers, key, args, vendor_id=vendors // 2)
                    trivial = results["trivial GET /health/live"]["rps"]
                    for endpoint, r in results.items():
                        print(
                            f"| {engine} | {vendors} | {rows} | {workers} | {endpoint} | {r['rps']:.0f} | "
                            f"{r['p50']:.2f} | {r['p99']:.2f} | {r['errors']:.0f} | {r['rps'] / trivial:.2f} |",
                            flush=True,
                        )
                shutil.rmtree(scratch, ignore_errors=True)
    finally:
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
