#!/usr/bin/env bash
# Every benchmark in one command: the lookup API against the trivial endpoint (both engines, 1 and 2
# workers, three dataset sizes), then attestation issuing against direct rendering and signing.
# Needs wrk (apt-get install wrk). Results are Markdown tables on stdout; docs/benchmarks.md keeps them.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
.venv/bin/python bench/run.py "$@"
.venv/bin/python bench/attestations.py --count 40
.venv/bin/python bench/attestations.py --count 40 --engine postgres
