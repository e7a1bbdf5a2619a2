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
  get it, which turns TCP_NODELAY back on.
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
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
            # The same listening socket, labelled TCP: accepted connections copy the label, and asyncio
            # sets TCP_NODELAY only on sockets labelled TCP.
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
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
