"""How `registry serve` runs uvicorn: settings chosen by measurement (bench/servers.py, docs/benchmarks.md).

- httptools parses HTTP in C; h11, uvicorn's pure-Python default, cost a third of a cached lookup's
  throughput.
- The event loop is asyncio's, named so that an installed uvloop does not change it: under load uvloop
  reads new requests before it finishes answered ones (MagicStack/uvloop#123); the lookups' p99 was
  200 ms with it against 23-60 ms with asyncio.
- With several workers uvicorn binds the listening socket itself, with ``proto`` 0; accepted sockets
  inherit it and asyncio then leaves Nagle's algorithm on, so every keep-alive response after the first
  waited for the client's delayed ACK, ~40 ms (Kludex/uvicorn#3149): every endpoint, the trivial one
  included, was capped at 64 connections / 44 ms. The socket is re-labelled as TCP before the workers
  get it, which turns TCP_NODELAY back on. Where SO_REUSEPORT exists (Linux), each worker listens on a
  socket of its own instead (``_PerWorkerSocket``): the kernel spreads connections over the workers.
- Once the app has started, everything it has built so far (modules, routes, schemas: ~160,000 objects
  the collector tracks) is moved out of the garbage collector's sight with ``gc.freeze()``. Otherwise
  a full collection walks all of it every several seconds under load: a 70-110 ms pause of the event
  loop, which was the lookups' whole p99 tail (seen with a loop-lag monitor and ``gc.callbacks``).
"""

import gc
import socket
import sys

import uvicorn
from litestar import Litestar
from uvicorn.supervisors import Multiprocess

from registry.app import create_app
from registry.settings import Settings, get_settings


def create_served_app(settings: Settings | None = None) -> Litestar:
    """The app as `registry serve` runs it in each worker: its heap is frozen once it has started."""
    app = create_app(settings)
    app.on_startup.append(_freeze_heap)
    return app


def _freeze_heap() -> None:
    gc.collect()  # what startup left as garbage goes now: frozen objects are never collected
    gc.freeze()


class _Config(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        if self.workers > 1 and hasattr(socket, "SO_REUSEPORT"):
            family, address = sock.family, sock.getsockname()
            sock.close()
            return _bound(_PerWorkerSocket, family, address)
        if sock.proto != socket.IPPROTO_TCP:
            # The same listening socket, labelled TCP: accepted connections copy the label, and asyncio
            # sets TCP_NODELAY only on sockets labelled TCP.
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


class _PerWorkerSocket(socket.socket):
    """The supervisor's socket: bound with SO_REUSEPORT to hold the address, never listening. A worker
    process that receives it (unpickling it) gets a listening socket of its own on the same address, and
    the kernel spreads new connections over the workers' sockets.

    One socket shared by every worker left the spreading to whichever worker woke first, and asyncio
    accepts up to ``backlog`` waiting connections per wake-up: a client opening its connections at once
    (a proxy filling its pool, wrk) often had them all served by one worker while the other idled."""

    def __reduce__(self):
        return _bound, (socket.socket, self.family, self.getsockname())


def _bound(kind: type[socket.socket], family: int, address: tuple) -> socket.socket:
    """A TCP socket (labelled so: asyncio then sets TCP_NODELAY) bound to ``address`` with SO_REUSEPORT."""
    sock = kind(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def serve(host: str, port: int, workers: int) -> None:
    config = _Config(
        "registry.server:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="asyncio",
        http="httptools",
        access_log=get_settings().access_log,
        proxy_headers=False,
        server_header=False,
    )
    if workers > 1:  # as uvicorn.run() does, with the socket above
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        config.load_app()
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run() exits
