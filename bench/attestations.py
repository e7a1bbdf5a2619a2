"""Benchmark attestation issuing against its ceiling: rendering and signing the same document directly.

    .venv/bin/python bench/attestations.py [--count 40] [--repeat 3] [--engine sqlite|postgres]

In one run: (1) WeasyPrint + pyHanko on the same facts, in this process (ms per PDF) and in a pool of
2 processes (PDFs/s); (2) `registry serve` (1 API worker, 2 PDF workers) issuing attestations for
--count confirmed deletions over HTTP, 4 at a time (attestations/s, ms each); (3) POST /lookup/check
latency with wrk, idle and while attestations are being issued.
"""

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.run import PYTHON, free_port, wrk  # noqa: E402
from registry.attestations import pdf  # noqa: E402
from registry.attestations.signing import init_signing  # noqa: E402
from tests.conftest import CONFIRMATION  # noqa: E402
from tests.pg import Cluster, find_binaries  # noqa: E402


def direct(facts: dict, key: str, cert: str, n: int) -> dict:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        pdf.render_and_sign(facts, key, cert, None)
        times.append((time.perf_counter() - started) * 1000)
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(pdf.render_and_sign, [facts] * 2, [key] * 2, [cert] * 2, [None] * 2))  # warm-up
        started = time.perf_counter()
        list(pool.map(pdf.render_and_sign, [facts] * n, [key] * n, [cert] * n, [None] * n))
        pool_rate = n / (time.perf_counter() - started)
    return {"ms": statistics.median(times[1:]), "pool_per_s": pool_rate}


async def prepare(base: str, headers: dict, count: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        ids = []
        for n in range(count):
            vendor = (
                await client.post(
                    "/vendors",
                    json={
                        "name": f"Bench vendor {n}",
                        "kind": "service_provider",
                        "country": "DE",
                        "legal_name": f"Bench {n} GmbH",
                    },
                )
            ).json()
            contract = (
                await client.post(
                    "/contracts",
                    json={
                        "vendor_id": vendor["id"],
                        "kind": "dpa",
                        "title": "DPA",
                        "signed_on": "2025-01-01",
                        "effective_from": "2025-01-01",
                        "confidentiality_equivalent": True,
                        "backups_covered": True,
                    },
                )
            ).json()
            await client.post(
                "/disclosures",
                json={
                    "vendor_id": vendor["id"],
                    "contract_id": contract["id"],
                    "categories": ["user.name", "user.contact.email"],
                    "data_subjects": ["customer"],
                    "purpose": "essential.service",
                    "basis": "contract",
                    "valid_from": "2025-02-01",
                },
            )
            await client.post(
                f"/contracts/{contract['id']}/terminate",
                json={"terminated_on": "2025-06-30", "reason": "bench"},
            )
            deletions = (await client.get("/deletions", params={"vendor": vendor["id"]})).json()["items"]
            await client.post(f"/deletions/{deletions[0]['id']}/confirmations", json=CONFIRMATION)
            ids.append(deletions[0]["id"])
        return ids


async def issue_all(base: str, headers: dict, ids: list[int], concurrency: int = 4) -> dict:
    times: list[float] = []
    queue = list(ids)

    async def worker(client):
        while queue:
            deletion = queue.pop()
            started = time.perf_counter()
            response = await client.post(f"/deletions/{deletion}/attestation")
            assert response.status_code == 201, response.text
            times.append((time.perf_counter() - started) * 1000)

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        await client.post(f"/deletions/{queue.pop()}/attestation")  # warm the PDF workers
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"per_s": len(times) / elapsed, "ms": statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="attestations per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="measurements; medians are reported")
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument(
        "--save-facts", type=Path, help="write the sample attestation's facts (for profiling)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-att-"))
    key, cert = work / "key.pem", work / "cert.pem"
    init_signing(key, cert, "Bench Controller")
    cluster = None
    if args.engine == "sqlite":
        url = f"sqlite:///{work / 'r.sqlite3'}"
    else:
        cluster = Cluster(find_binaries())
        server_url = cluster.start()
        subprocess.run(["psql", f"{server_url}/postgres", "-qc", "CREATE DATABASE bench_att"], check=True)
        url = f"{server_url}/bench_att"
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": url,
        "REGISTRY_SIGNING_KEY_FILE": str(key),
        "REGISTRY_SIGNING_CERT_FILE": str(cert),
        "REGISTRY_PDF_WORKERS": "2",
    }
    subprocess.run([PYTHON, "-m", "registry", "migrate"], env=env, check=True, capture_output=True)
    secret = subprocess.run(
        [PYTHON, "-m", "registry", "keys", "create", "bench", "--role", "admin"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [PYTHON, "-m", "registry", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {secret}"}
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        ids = asyncio.run(prepare(base, headers, args.count * 2 * args.repeat + 2))
        facts = httpx.post(f"{base}/deletions/{ids.pop()}/attestation", headers=headers, timeout=60).json()
        stored = httpx.get(f"{base}/attestations/{facts['serial']}/pdf", headers=headers).content
        same_facts = json.loads(PdfReader(io.BytesIO(stored)).attachments["attestation.json"][0])
        if args.save_facts:
            args.save_facts.write_text(json.dumps(same_facts, indent=2))
        check = work / "check.lua"
        check.write_text(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            'wrk.body = \'{"vendor": 1, "categories": ["user.name"], "on": "2025-03-01"}\'\n'
        )
        runs = []
        for _ in range(args.repeat):
            ceiling = direct(same_facts, str(key), str(cert), 20)
            endpoint = asyncio.run(issue_all(base, headers, [ids.pop() for _ in range(args.count)]))
            idle = wrk(f"{base}/lookup/check", secret, 10, 16, check)
            busy: dict = {}
            thread = threading.Thread(
                target=lambda into=busy: into.update(wrk(f"{base}/lookup/check", secret, 10, 16, check))
            )
            thread.start()
            asyncio.run(issue_all(base, headers, [ids.pop() for _ in range(args.count)]))
            thread.join()
            runs.append(
                {
                    "ms": ceiling["ms"],
                    "pool_per_s": ceiling["pool_per_s"],
                    "per_s": endpoint["per_s"],
                    "issue_ms": endpoint["ms"],
                    "cost": ceiling["pool_per_s"] / endpoint["per_s"],
                    "idle_p99": idle["p99"],
                    "idle_rps": idle["rps"],
                    "busy_p99": busy["p99"],
                    "busy_rps": busy["rps"],
                    "p99_ratio": busy["p99"] / idle["p99"],
                }
            )
        m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        ceiling, endpoint = (
            {"ms": m["ms"], "pool_per_s": m["pool_per_s"]},
            {"per_s": m["per_s"], "ms": m["issue_ms"]},
        )
        idle, busy_result = (
            {"p99": m["idle_p99"], "rps": m["idle_rps"]},
            {"p99": m["busy_p99"], "rps": m["busy_rps"]},
        )
        print(f"| engine | {args.engine} |\n|---|---|")
        print(f"| direct render+sign, 1 process | {ceiling['ms']:.0f} ms/PDF |")
        print(f"| direct render+sign, pool of 2 | {ceiling['pool_per_s']:.1f} PDFs/s |")
        print(
            f"| POST /deletions/{{id}}/attestation, 4 concurrent | {endpoint['per_s']:.1f} attestations/s, "
            f"median {endpoint['ms']:.0f} ms |"
        )
        print(f"| ratio: pool ceiling / endpoint throughput | {m['cost']:.2f}x cost |")
        print(f"| lookup check p99 idle (16 conn) | {idle['p99']:.1f} ms ({idle['rps']:.0f} req/s) |")
        print(
            f"| lookup check p99 while issuing | {busy_result['p99']:.1f} ms ({busy_result['rps']:.0f} req/s) |"
        )
        print(f"| ratio: p99 while issuing / idle p99 | {m['p99_ratio']:.2f}x |")
        print(f"| measurements (medians of) | {args.repeat} |")
    finally:
        server.terminate()
        server.wait(timeout=20)
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
