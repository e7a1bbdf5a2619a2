"""`registry serve` as operators run it: probes without a key, and the access log only when asked for."""

import httpx
import pytest

from tests.conftest import Server


@pytest.mark.parametrize("access_log", [None, "true"])
def test_probes_answer_and_the_access_log_is_written_only_when_enabled(settings, tmp_path, access_log):
    log = tmp_path / "server.log"
    env = {"REGISTRY_ACCESS_LOG": access_log} if access_log else {}
    server = Server(settings, log=log, **env)
    server.start()
    try:
        live = httpx.get(f"{server.base}/health/live")
        ready = httpx.get(f"{server.base}/health")
        refused = httpx.get(f"{server.base}/vendors")
    finally:
        server.stop()
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert refused.status_code == 401
    written = log.read_text()
    assert "Application startup complete" in written  # the log is the server's
    request_lines = [line for line in written.splitlines() if '"GET /health/live HTTP/1.1" 200' in line]
    assert len(request_lines) == (1 if access_log else 0), written
    assert ('"GET /vendors HTTP/1.1" 401' in written) == bool(access_log)
