"""Per-call latency of the lookups and GET /health through the ASGI app, without a network or a server.

    REGISTRY_DATABASE_URL=sqlite:////tmp/b.sqlite3 .venv/bin/python bench/generate.py --url "$REGISTRY_DATABASE_URL"
    KEY=$(REGISTRY_DATABASE_URL=... .venv/bin/registry keys create perf --role lookup)
    REGISTRY_DATABASE_URL=... KEY=$KEY .venv/bin/python bench/inprocess.py --calls 300

Prints the median of --calls calls for each, cached (the same question again) and computed afresh
(Cache-Control: no-cache). Useful for profiling (wrap main() in cProfile or pyinstrument).
"""

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from registry.app import create_app  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)


async def main(calls: int, vendor: int) -> None:
    app = create_app()
    key = {"Authorization": f"Bearer {os.environ['KEY']}"}
    fresh = {**key, "Cache-Control": "no-cache"}
    recipients = "/lookup/recipients?category=user.biometric.retinal&as_of=2025-06-01&limit=100"
    check = {"vendor": vendor, "categories": ["user.contact.email"], "on": "2025-06-01"}
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            requests = {
                "GET /health": lambda: client.get("/health"),
                "GET /lookup/recipients": lambda: client.get(recipients, headers=key),
                "POST /lookup/check": lambda: client.post("/lookup/check", json=check, headers=key),
                "GET /lookup/recipients, no-cache": lambda: client.get(recipients, headers=fresh),
                "POST /lookup/check, no-cache": lambda: client.post(
                    "/lookup/check", json=check, headers=fresh
                ),
            }
            for name, call in requests.items():
                response = await call()
                assert response.status_code == 200, response.text
                times = []
                for _ in range(calls):
                    started = time.perf_counter()
                    await call()
                    times.append((time.perf_counter() - started) * 1000)
                print(f"{name}: median {statistics.median(times):.2f} ms over {calls} calls")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--vendor", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.vendor))
