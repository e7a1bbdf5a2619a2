"""`registry serve` as operators run it: probes without a key, and the access log only when asked for."""

import asyncio
import gc
import json
import socket
import subprocess
import sys
import time
from multiprocessing.reduction import ForkingPickler

import httpx
import pytest

from registry.server import _Config, create_served_app, served_config
from registry.settings import Settings
from tests.conftest import Server
from tests.harness import new_database


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


def test_two_workers_answer(settings, tmp_path):
    server = Server(settings, log=tmp_path / "server.log", workers=2)
    server.start()
    try:
        with httpx.Client(base_url=server.base) as client:  # one keep-alive connection
            answers = [client.get("/health/live") for _ in range(5)]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200] * 5
    assert (tmp_path / "server.log").read_text().count("Application startup complete") == 2


def worker_socket(config: _Config) -> socket.socket:
    """What a worker process gets: the supervisor's socket, through multiprocessing's pickler."""
    return ForkingPickler.loads(ForkingPickler.dumps(config.bind_socket()))


def test_a_worker_socket_gives_connections_tcp_nodelay():
    """uvicorn binds the workers' socket with proto 0, so asyncio left Nagle on and each keep-alive
    answer after the first waited ~40 ms for the client's delayed ACK (Kludex/uvicorn#3149)."""
    config = _Config("registry.app:create_app", factory=True, host="127.0.0.1", port=0, workers=2)
    listener = worker_socket(config)
    assert listener.proto == socket.IPPROTO_TCP

    async def accept_one() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
            nodelay = await asyncio.wait_for(accepted, 10)
            writer.close()
        return nodelay

    assert asyncio.run(accept_one()) == 1


def listening_sockets(port: int) -> int:
    """Sockets in LISTEN state on ``port``, from the kernel's table."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                count += int(local.rsplit(":", 1)[1], 16) == port and state == "0A"
    return count


def test_each_worker_listens_on_a_socket_of_its_own(settings, tmp_path):
    """With one socket shared by all workers, the first to wake accepted every connection a client
    opened at once (seen in benchmarks: one worker at 100 % CPU, the other idle); with one socket each
    (SO_REUSEPORT) the kernel spreads them."""
    server = Server(settings, log=tmp_path / "server.log", workers=2)
    server.start()
    try:
        for _ in range(100):  # /health answers once one worker is up; wait for the second
            if listening_sockets(server.port) == 2:
                break
            time.sleep(0.1)
        listeners = listening_sockets(server.port)
        with httpx.Client(base_url=server.base) as client:
            answers = [client.get("/health/live").status_code for _ in range(3)]
    finally:
        server.stop()
    assert listeners == 2
    assert answers == [200] * 3
    assert listening_sockets(server.port) == 0  # the workers' sockets went with them


@pytest.mark.anyio
async def test_the_served_app_freezes_its_heap_once_started(settings):
    """A full collection walked the ~160,000 objects startup leaves and paused the event loop 70-110 ms
    every several seconds under load: the lookups' p99 tail (docs/benchmarks.md)."""
    app = create_served_app(settings)
    gc.unfreeze()
    try:
        before = gc.get_freeze_count()
        async with app.lifespan():
            frozen = gc.get_freeze_count()
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                live = await http.get("/health/live")
                ready = await http.get("/health")
    finally:
        gc.unfreeze()  # the test process goes on creating and dropping apps
    assert before == 0
    assert frozen > 50_000, frozen
    assert (live.status_code, ready.status_code) == (200, 200)


def read_until_closed(sock: socket.socket, deadline_seconds: float = 20) -> tuple[bool, bytes]:
    """Everything the server sends, and whether it closed the connection before the deadline."""
    received, deadline = b"", time.monotonic() + deadline_seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


@pytest.fixture(scope="module")
def timed_server(templates, signing_files, tmp_path_factory):
    """`registry serve` with one-second timeouts, so that the tests wait little; one for the module's
    protocol tests (they write nothing, and what they probe happens before any database is read)."""
    folder = tmp_path_factory.mktemp("timed")
    settings = Settings(
        database_url=new_database("sqlite", templates, folder),
        signing_key_file=signing_files[0],
        signing_cert_file=signing_files[1],
        webhook_key_file=str(folder / "webhook.key"),
    )
    server = Server(
        settings,
        log=folder / "server.log",
        REGISTRY_HEADER_TIMEOUT_SECONDS="1",
        REGISTRY_KEEP_ALIVE_SECONDS="1",
    )
    server.start()
    yield server
    server.stop()


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


@pytest.mark.engine_independent
class TestTimeouts:
    @pytest.mark.parametrize("sent", [b"", b"GET /health/live HTTP/1.1\r\nHost: registry\r\n"])
    def test_a_connection_without_a_complete_head_is_closed(self, timed_server, sent):
        """Before: a connection that sent nothing, or half a request head, stayed open for ever."""
        with connect(timed_server) as sock:
            sock.sendall(sent)
            closed, received = read_until_closed(sock)
        assert closed and received == b""
        assert httpx.get(f"{timed_server.base}/health/live").status_code == 200

    def test_an_idle_keep_alive_connection_is_closed_after_its_answers(self, timed_server):
        with connect(timed_server) as sock:
            for _ in range(2):  # a prompt request on a keep-alive connection is answered as always
                sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: registry\r\n\r\n")
                answer = b""
                while not answer.endswith(b'{"status":"ok"}'):  # head and body may come apart
                    answer += sock.recv(65536) or pytest.fail(f"closed after {answer!r}")
                assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
            sock.sendall(b"\r\n")  # blank lines between requests do not hold the connection open either
            closed, received = read_until_closed(sock)
        assert closed and received == b""


@pytest.mark.engine_independent
class TestMalformedRequests:
    @pytest.mark.parametrize(
        "request_bytes",
        [
            b"POST /vendors HTTP/1.1\r\nHost: registry\r\nContent-Length: abc\r\n\r\n{}",
            b"GET /vendors/\xff HTTP/1.1\r\nHost: registry\r\n\r\n",
            b"GET /health/live?q=" + b"a" * 1_048_576 + b" HTTP/1.1\r\nHost: registry\r\n\r\n",
        ],
        ids=["bad-content-length", "0xff-in-path", "1mb-query-string"],
    )
    def test_what_the_parser_refuses_is_a_problem_and_the_server_stays_up(self, timed_server, request_bytes):
        with connect(timed_server) as sock:
            try:
                sock.sendall(request_bytes)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before the client has sent everything
            closed, received = read_until_closed(sock)
        head, _, body = received.partition(b"\r\n\r\n")
        assert closed and head.startswith(b"HTTP/1.1 400 "), received[:300]
        assert b"content-type: application/problem+json" in head.lower()
        assert json.loads(body)["status"] == 400
        assert httpx.get(f"{timed_server.base}/health/live").status_code == 200


@pytest.mark.engine_independent
def test_a_worker_answers_the_supervisors_ping_before_it_imports_the_app(settings):
    """Before: each worker of `serve --workers N` imported the whole app while unpickling its config,
    before it could answer the supervisor's 5-second ping; on a busy machine the supervisor killed and
    replaced every worker, over and over, and the server never answered."""
    probe = "import sys, registry.server; print(sorted({'registry.app', 'litestar'} & set(sys.modules)))"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "[]"
    slow = settings.model_copy(update={"worker_healthcheck_seconds": 45})
    assert served_config(slow, "127.0.0.1", 8000, 2).timeout_worker_healthcheck == 45
    assert Settings.model_fields["worker_healthcheck_seconds"].default == 60
