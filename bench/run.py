"""Benchmark the lookup API against the same server's trivial endpoint, on SQLite and PostgreSQL.

    .venv/bin/python bench/run.py                      # 1k/10k, 10k/1M, 100k/1M; both engines; 1, 2 workers
    .venv/bin/python bench/run.py --sizes 10000:1000000 --engines postgres --workers 2

For each engine and dataset size it generates the data (bench/generate.py), starts `registry serve`
as in production, and drives it with wrk (Debian package `wrk`) on loopback, 64 connections. The
trivial endpoint is GET /health/live (answers without touching the database), measured in the same run:
ratios are to it; GET /health (readiness: one `SELECT 1`) is measured too. Each
lookup is measured as integrations call it (the same question again: answered from the worker's answer
cache, which any write empties) and with `Cache-Control: no-cache` (every answer computed afresh).
Prints a Markdown table; medians of --repeat runs. On a machine whose speed drifts within a minute,
``--paired`` runs /health/live again right after each run of each row and takes the median of the
pairs' ratios (and prints the paired /health/live p99, for the goals' "p99 within 3x").

Traffic as integrations make it (``--rows`` picks rows by name; default all): ``check, distinct`` asks
a different vendor × 1-3 categories × day on every request, ``recipients, distinct`` a different
category × day (a page of 100 and the total); the questions come from a seeded generator, written to a
file that a wrk Lua script reads (each run starts at another line, so no question repeats within a
server's life). ``recipients, writes 2/s`` repeats the one question while a writer renames a vendor
twice a second through the API (an admin key), so every answer cache empties twice a second.
"""

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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


# Reads one request per line from the file given after --; each run starts at the line given second.
DISTINCT_LUA = """
local lines, count, at = {}, 0, 0
function init(args)
  for line in io.lines(args[1]) do count = count + 1; lines[count] = line end
  at = tonumber(args[2]) or 0
end
function request()
  at = at % count + 1
  if wrk.method == "POST" then return wrk.format("POST", nil, nil, lines[at]) end
  return wrk.format("GET", lines[at])
end
"""
CATEGORY_KEYS = [
    "user.biometric.retinal",
    "user.contact.email",
    "user.contact.phone_number",
    "user.financial",
    "user.name",
    "user.location",
    "user.device",
    "user.health_and_medical",
    "user.contact",
    "user.biometric",
]
FIRST_DAY, DAYS = 737425, 2920  # 2020-01-01 and the eight years after it (bench/generate.py's span)


def distinct_questions(work: Path, vendors: int, count: int, seed: int = 19) -> tuple[Path, Path]:
    """Files of ``count`` check bodies and recipients paths from a seeded generator."""
    from datetime import date

    rnd = random.Random(seed)  # noqa: S311 (benchmark questions, not secrets)

    def day() -> str:
        return date.fromordinal(FIRST_DAY + rnd.randrange(DAYS)).isoformat()

    checks, paths = work / "checks.txt", work / "recipients.txt"
    with checks.open("w") as out:
        for _ in range(count):
            asked = ", ".join(f'"{c}"' for c in rnd.sample(CATEGORY_KEYS, rnd.randint(1, 3)))
            vendor = rnd.randint(1, vendors)
            out.write(f'{{"vendor": {vendor}, "categories": [{asked}], "on": "{day()}"}}\n')
    with paths.open("w") as out:
        for _ in range(count):
            out.write(f"/lookup/recipients?category={rnd.choice(CATEGORY_KEYS)}&as_of={day()}&limit=100\n")
    return checks, paths


class Writer(threading.Thread):
    """Renames one vendor through the API ``per_second`` times a second until stopped."""

    def __init__(self, base: str, key: str, vendor_id: int, per_second: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.base, self.key, self.vendor_id, self.interval = base, key, vendor_id, 1 / per_second
        self.stopping, self.written, self.failed = threading.Event(), 0, 0

    def run(self) -> None:
        due = time.monotonic()
        with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.key}"}) as http:
            while not self.stopping.wait(max(0.0, (due := due + self.interval) - time.monotonic())):
                name = f"Vendor {self.vendor_id:06d} {'ab'[self.written % 2]}"
                response = http.patch(f"/vendors/{self.vendor_id}", json={"name": name}, timeout=30)
                if response.status_code == 200:
                    self.written += 1
                else:
                    self.failed += 1


def wrk(
    url: str,
    key: str,
    seconds: int,
    connections: int,
    script: Path | None = None,
    fresh: bool = False,
    script_args: tuple[str, ...] = (),
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
    arguments = ["--", *script_args] if script_args else []
    out = subprocess.run([*command, url, *arguments], check=True, capture_output=True, text=True).stdout
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
    for _ in range(600):  # a minute: two workers on a loaded machine took longer than 20 s
        try:
            if httpx.get(f"{base}/health/live").status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def bench_one(url: str, workers: int, key: str, args, vendor_id: int, writer_key: str) -> dict[str, dict]:
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    check = work / "check.lua"
    check.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.body = \'{{"vendor": {vendor_id}, "categories": ["user.contact.email"], "on": "2025-06-01"}}\'\n'
    )
    distinct_get, distinct_post = work / "distinct-get.lua", work / "distinct-post.lua"
    distinct_get.write_text(DISTINCT_LUA)
    distinct_post.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n' + DISTINCT_LUA
    )
    checks, paths = distinct_questions(work, args.vendors_now, args.questions)
    server, base = serve(url, workers)
    args.first_answer = first_answers(base, key, workers)
    recipients = f"{base}/lookup/recipients?category=user.biometric.retinal&as_of=2025-06-01&limit=100"
    # name: (url, script, no-cache, file of distinct questions or None, writer on)
    targets = {
        "trivial GET /health/live": (f"{base}/health/live", None, False, None, False),
        "GET /health (one SELECT 1)": (f"{base}/health", None, False, None, False),
        "GET /lookup/recipients": (recipients, None, False, None, False),
        "POST /lookup/check": (f"{base}/lookup/check", check, False, None, False),
        "GET /lookup/recipients, no-cache": (recipients, None, True, None, False),
        "POST /lookup/check, no-cache": (f"{base}/lookup/check", check, True, None, False),
        "POST /lookup/check, distinct": (f"{base}/lookup/check", distinct_post, False, checks, False),
        "GET /lookup/recipients, distinct": (base, distinct_get, False, paths, False),
        "GET /lookup/recipients, writes 2/s": (recipients, None, False, None, True),
    }
    wanted = {name: target for name, target in targets.items() if _picked(name, args.rows)}
    results: dict[str, dict] = {}
    started = 0
    try:
        for name, (target, script, fresh, questions, writes) in wanted.items():
            runs = []
            for run in range(args.repeat + 1):  # the first is a warm-up
                extra = (str(questions), str(started)) if questions else ()
                started += 200_000 // (args.repeat + 2)
                writer = Writer(base, writer_key, vendor_id + 1) if writes else None
                if writer:
                    writer.start()
                try:
                    result = wrk(
                        target, key, 2 if run == 0 else args.seconds, args.connections, script, fresh, extra
                    )
                finally:
                    if writer:
                        writer.stopping.set()
                        writer.join()
                if writer:
                    result["writes"] = writer.written
                    result["errors"] += writer.failed
                if run and args.paired and not name.startswith("trivial"):
                    # /health/live right after, so the ratio compares two runs a few seconds apart
                    trivial = wrk(f"{base}/health/live", key, args.seconds, args.connections)
                    result["ratio"] = result["rps"] / trivial["rps"]
                    result["trivial p99"] = trivial["p99"]
                if run:
                    runs.append(result)
            results[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    finally:
        args.rss = tree_rss(server.pid)
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    return results


def tree_rss(pid: int) -> str:
    """Resident memory of a process and each of its descendants (the workers), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree, grew = tree | more, bool(more)
    sizes = []
    for member in sorted(tree):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        sizes.append(f"{member}: {kib / 1024:.0f} MiB")
    return "RSS " + ", ".join(sizes)


def first_answers(base: str, key: str, workers: int) -> float:
    """Seconds from a started server to a first lookup answer on (very likely) every worker: each
    worker loads its index on its first lookup; eight connections at once reach both of two workers."""
    started = time.perf_counter()
    body = {"vendor": 1, "categories": ["user.contact.email"], "on": "2025-06-01"}

    def ask() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600) as http:
            http.post("/lookup/check", json=body).raise_for_status()

    threads = [threading.Thread(target=ask) for _ in range(4 * workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def _picked(name: str, rows: list[str] | None) -> bool:
    """Every row when none are named; else /health/live and each row named in full or by its tail."""
    return name.startswith("trivial") or not rows or any(name == r or name.endswith(f", {r}") for r in rows)


def generated(engine: str, vendors: int, rows: int, scratch: Path, server_url: str | None) -> str:
    """A database of ``vendors`` and ``rows`` made by bench/generate.py; its URL."""
    if engine == "sqlite":
        url = f"sqlite:///{scratch / 'bench.sqlite3'}"
    else:
        name = f"bench_{vendors}_{rows}"
        subprocess.run(
            ["psql", f"{server_url}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
            check=True,
        )
        subprocess.run(["psql", f"{server_url}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
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
    return url


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
    parser.add_argument(
        "--rows",
        nargs="*",
        help="only these rows, by name or by the tail after the comma ('distinct'); /health/live always",
    )
    parser.add_argument(
        "--sqlite-file", help="an SQLite database bench/generate.py made before, of the one --sizes (kept)"
    )
    parser.add_argument("--questions", type=int, default=200_000, help="distinct questions generated")
    parser.add_argument(
        "--paired",
        action="store_true",
        help="measure /health/live after every run of every row: each ratio (and the p99 it is compared"
        " with) is the median over pairs a few seconds apart, not against one /health/live run per server",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    cluster = Cluster(find_binaries()) if "postgres" in args.engines else None
    server_url = cluster.start() if cluster else None
    paired = " /health/live p99 ms (paired) |" if args.paired else ""
    print(
        "| engine | vendors | rows | workers | endpoint | req/s | p50 ms | p99 ms | non-2xx | ratio to trivial |"
        + paired
    )
    print("|---|---|---|---|---|---|---|---|---|---|" + ("---|" if args.paired else ""))
    try:
        for engine in args.engines:
            for size in args.sizes:
                vendors, rows = map(int, size.split(":"))
                scratch = Path(tempfile.mkdtemp(prefix="bench-db-"))
                url = args.sqlite_file and f"sqlite:///{args.sqlite_file}"
                if url is None:
                    url = generated(engine, vendors, rows, scratch, server_url)
                stamp = time.strftime("%Y%m%d%H%M%S")  # key names are unique: a kept database gets new ones
                key = registry(url, "keys", "create", f"bench-{stamp}", "--role", "lookup").strip()
                writer_key = registry(
                    url, "keys", "create", f"bench-writer-{stamp}", "--role", "admin"
                ).strip()
                args.vendors_now = vendors
                for workers in args.workers:
                    print(
                        f"<!-- {time.strftime('%H:%M:%S', time.gmtime())} UTC, {os.getloadavg()} -->",
                        flush=True,
                    )
                    results = bench_one(url, workers, key, args, vendors // 2, writer_key)
                    print(f"<!-- first answers after {args.first_answer:.1f} s; {args.rss} -->", flush=True)
                    trivial = results["trivial GET /health/live"]["rps"]
                    for endpoint, r in results.items():
                        if "writes" in r:
                            endpoint += f" ({r['writes']:.0f} writes in the run)"
                        ratio = r.get("ratio", r["rps"] / trivial)
                        paired = f" {r.get('trivial p99', r['p99']):.2f} |" if args.paired else ""
                        print(
                            f"| {engine} | {vendors} | {rows} | {workers} | {endpoint} | {r['rps']:.0f} | "
                            f"{r['p50']:.2f} | {r['p99']:.2f} | {r['errors']:.0f} | {ratio:.2f} |{paired}",
                            flush=True,
                        )
                shutil.rmtree(scratch, ignore_errors=True)
    finally:
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
