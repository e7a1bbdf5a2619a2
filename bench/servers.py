"""How the HTTP server is run changes the lookups' throughput and tail: compare configurations.

    .venv/bin/pip install uvloop                      # only to measure it; the registry does not use it
    .venv/bin/python bench/servers.py --rounds 3      # SQLite, 1k vendors / 10k rows, 5 s per figure

Each configuration starts uvicorn on the same app, as `registry serve` does, with one setting
changed: the event loop (asyncio, as shipped, or uvloop), the HTTP parser (httptools, as shipped, or
h11, uvicorn's pure-Python default) and the access log (off, as shipped, or on). For each it measures
GET /health/live (the trivial endpoint), POST /lookup/check and GET /lookup/recipients (answered from
the answer cache, as integrations call them) with wrk, 64 connections. Configurations take turns,
round after round, so that the machine's noise falls on all of them; the table has medians over rounds.
"""

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.run import PYTHON, ROOT, registry, start_server, wrk  # noqa: E402

SHIPPED = {"loop": "asyncio", "http": "httptools", "access_log": False}
CONFIGS = {
    "as shipped (asyncio, httptools, no access log)": SHIPPED,
    "uvloop event loop": {**SHIPPED, "loop": "uvloop"},
    "h11 HTTP parser": {**SHIPPED, "http": "h11"},
    "access log on": {**SHIPPED, "access_log": True},
}


def start(url: str, config: dict) -> tuple[subprocess.Popen, str]:
    return start_server(
        url,
        lambda port: [
            "-m",
            "uvicorn",
            "registry.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--loop",
            config["loop"],
            "--http",
            config["http"],
            "--access-log" if config["access_log"] else "--no-access-log",
            "--no-server-header",
            "--no-proxy-headers",
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    configs = dict(CONFIGS)
    if importlib.util.find_spec("uvloop") is None:
        print("uvloop is not installed (pip install uvloop): its row is left out", file=sys.stderr)
        configs.pop("uvloop event loop")
    scratch = Path(tempfile.mkdtemp(prefix="bench-servers-"))
    url = f"sqlite:///{scratch / 'bench.sqlite3'}"
    try:
        subprocess.run(
            [PYTHON, str(ROOT / "bench" / "generate.py"), "--url", url, "--vendors", str(args.vendors)]
            + ["--rows", str(args.rows)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        key = registry(url, "keys", "create", "bench", "--role", "lookup").strip()
        check = scratch / "check.lua"
        check.write_text(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.body = \'{{"vendor": {args.vendors // 2}, "categories": ["user.contact.email"], '
            '"on": "2025-06-01"}\'\n'
        )
        endpoints = {
            "GET /health/live": ("/health/live", None),
            "POST /lookup/check": ("/lookup/check", check),
            "GET /lookup/recipients": (
                "/lookup/recipients?category=user.biometric.retinal&as_of=2025-06-01&limit=100",
                None,
            ),
        }
        runs: dict[tuple[str, str], list[dict]] = {}
        for _ in range(args.rounds):
            for name, config in configs.items():
                server, base = start(url, config)
                try:
                    for endpoint, (path, script) in endpoints.items():
                        wrk(base + path, key, 1, args.connections, script)  # warm-up: the answer is cached
                        result = wrk(base + path, key, args.seconds, args.connections, script)
                        runs.setdefault((name, endpoint), []).append(result)
                finally:
                    server.terminate()
                    server.wait(timeout=20)
        print(f"SQLite, {args.vendors} vendors / {args.rows} rows; medians of {args.rounds} rounds")
        print("| configuration | endpoint | req/s | p50 ms | p99 ms | non-2xx | req/s vs as shipped |")
        print("|---|---|---|---|---|---|---|")
        shipped = next(iter(configs))
        for (name, endpoint), results in runs.items():
            median = {k: statistics.median(r[k] for r in results) for k in results[0]}
            base_rps = statistics.median(r["rps"] for r in runs[(shipped, endpoint)])
            print(
                f"| {name} | {endpoint} | {median['rps']:.0f} | {median['p50']:.2f} | {median['p99']:.2f} | "
                f"{median['errors']:.0f} | {median['rps'] / base_rps:.2f} |",
                flush=True,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
