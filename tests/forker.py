"""A warm process that forks ``python -m registry ...`` commands for the tests (docs/testing.md).

A fresh Python spends ~0.4 s idle (seconds under load) importing Litestar, Piccolo, Pydantic and the
rest before a command does anything. This process imports those libraries once (never ``registry``
itself: its modules read the environment when imported), then for each request forks a child that
becomes the command: its own process, environment, working directory, standard streams and exit
status, importing ``registry`` afresh and running it as ``-m registry`` does. The test process talks
to it through ``Forker`` (one per test process, started on first use).

Protocol, one JSON object a line. In: ``{"id", "argv", "env", "cwd", "stdin", "stdout", "stderr"}``
(file paths; ``stderr`` null sends it to ``stdout``'s file). Out: ``{"id", "pid"}`` when forked,
``{"id", "exit"}`` when the child ended (``Popen.returncode``'s convention: ``-N`` for signal N).
"""

import atexit
import gc
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# The modules a command imports: the CLI, and the app and server ``registry serve`` builds.
SCOUTED = ["registry.cli", "registry.app", "registry.server"]
_SCOUT = (
    "import json, sys\n"
    + "".join(f"import {name}\n" for name in SCOUTED)
    + "print(json.dumps([m for m in sys.modules if m.partition('.')[0] not in ('registry', '__main__')]))"
)


def _preload() -> None:
    """Import every library the commands import, but none of registry's modules: those read the
    environment when imported, so each child imports them afresh. A scout process lists them."""
    found = subprocess.run([sys.executable, "-c", _SCOUT], capture_output=True, text=True)
    for name in json.loads(found.stdout) if found.returncode == 0 else []:
        try:
            __import__(name)
        except Exception:  # noqa: S110 - only time is lost: the child imports what it needs
            pass
    leaked = [name for name in sys.modules if name.partition(".")[0] == "registry"]
    for name in leaked:  # a library imported part of registry: the child must import it afresh
        del sys.modules[name]
    gc.freeze()  # the children's collections leave the inherited objects (and their pages) alone


def _become(request: dict) -> None:
    """In the forked child: set up the process as ``subprocess.Popen`` would, then run the command."""
    for number in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL if number != signal.SIGINT else signal.default_int_handler)
    stdin = os.open(request["stdin"] or os.devnull, os.O_RDONLY)
    stdout = os.open(request["stdout"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    stderr = (
        os.open(request["stderr"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if request["stderr"]
        else stdout
    )
    for source, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(source, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the zygote's pipes, the files opened above
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["-m", *request["argv"]]
    sys.path[0] = request["cwd"]  # as ``python -m`` puts the working directory first
    try:
        runpy.run_module("registry", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = _exit_status(exc.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    _exit(code)


def _exit_status(code) -> int:
    """What Python makes of ``sys.exit(code)``: None is 0, a number itself, anything else is printed."""
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def _exit(code: int) -> None:
    """Python's exit without its teardown: non-daemon threads joined, ``atexit`` run, streams flushed.
    Tearing down the ~1,200 inherited modules took longer than most commands (0.2-0.4 s)."""
    threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _serve(requests, replies) -> None:
    """Read requests, fork a child for each, report its pid and, when it has ended, its status."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd is written
    running: dict[int, str] = {}
    buffer = b""
    while True:
        ready, _, _ = select.select([requests, wake_read], [], [])
        if wake_read in ready:
            os.read(wake_read, 512)
        if requests in ready:
            chunk = os.read(requests, 65536)
            if not chunk:  # the test process is gone
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                sys.stdout.flush(), sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    os.close(requests), os.close(replies), os.close(wake_read), os.close(wake_write)
                    _become(request)  # never returns
                running[pid] = request["id"]
                os.write(replies, json.dumps({"id": request["id"], "pid": pid}).encode() + b"\n")
        _reap(running, replies)


def _reap(running: dict[int, str], replies: int) -> None:
    while running:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        name = running.pop(pid, None)
        if name is not None:
            code = os.waitstatus_to_exitcode(status)
            os.write(replies, json.dumps({"id": name, "exit": code}).encode() + b"\n")


class Forker:
    """The test process's side: starts the warm process and runs commands through it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=Path(__file__).parent.parent,
            # Each request brings its environment; a test's REGISTRY_* at start-up must not reach the scout.
            env={name: value for name, value in os.environ.items() if not name.startswith("REGISTRY_")},
        )
        self.lock = threading.Lock()
        self.waiting: dict[str, dict] = {}
        self.changed = threading.Condition(self.lock)
        self.counter = 0
        threading.Thread(target=self._read, daemon=True, name="forker-replies").start()

    def _read(self) -> None:
        for line in self.process.stdout:
            reply = json.loads(line)
            with self.changed:
                self.waiting.setdefault(reply["id"], {}).update(reply)
                self.changed.notify_all()
        with self.changed:  # the warm process died: nothing more will come
            self.waiting["closed"] = {}
            self.changed.notify_all()

    def start(
        self, argv: list[str], env: dict, cwd: Path, stdin: Path | None, stdout: Path, stderr: Path | None
    ):
        """Fork a child running ``python -m registry *argv``; its pid."""
        with self.changed:
            self.counter += 1
            name = str(self.counter)
            request = {"id": name, "argv": argv, "env": env, "cwd": str(cwd), "stdin": stdin and str(stdin)}
            request.update(stdout=str(stdout), stderr=stderr and str(stderr))
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            self.changed.wait_for(lambda: "pid" in self.waiting.get(name, {}) or "closed" in self.waiting, 60)
            if "pid" not in self.waiting.get(name, {}):
                raise RuntimeError("the forker process did not fork the command")
            return name, self.waiting[name]["pid"]

    def wait(self, name: str, timeout: float | None) -> int | None:
        """The child's exit status once it has ended, or None at the deadline."""
        with self.changed:
            self.changed.wait_for(lambda: "exit" in self.waiting[name] or "closed" in self.waiting, timeout)
            return self.waiting[name].get("exit")

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


_forker: Forker | None = None
_starting = threading.Lock()


def forker() -> Forker:
    """This test process's warm process, started on first use."""
    global _forker
    with _starting:
        if _forker is None or _forker.process.poll() is not None:
            _forker = Forker()
            atexit.register(_forker.close)  # waited for, so its CPU time counts as this process's
        return _forker


def run_forked(
    argv: list[str], env: dict, cwd: Path, input_: str | None, timeout: float
) -> subprocess.CompletedProcess:
    """``subprocess.run([python, "-m", "registry", *argv], capture_output=True, text=True, ...)``
    through the warm process: the same process, streams and exit status, without the imports."""
    with tempfile.TemporaryDirectory(prefix="registry-cli-") as folder:
        return _run_in(Path(folder), argv, env, cwd, input_, timeout)


def _run_in(folder: Path, argv, env, cwd, input_, timeout) -> subprocess.CompletedProcess:
    stdin = None
    if input_ is not None:
        stdin = folder / "stdin"
        stdin.write_text(input_)
    stdout, stderr = folder / "stdout", folder / "stderr"
    warm = forker()
    name, pid = warm.start(argv, env, cwd, stdin, stdout, stderr)
    code = warm.wait(name, timeout)
    if code is None:
        os.kill(pid, signal.SIGKILL)
        warm.wait(name, 10)
        raise subprocess.TimeoutExpired(["registry", *argv], timeout, stdout.read_text(), stderr.read_text())
    return subprocess.CompletedProcess(["registry", *argv], code, stdout.read_text(), stderr.read_text())


class ForkedProcess:
    """What ``subprocess.Popen`` offers of a ``registry`` command forked by the warm process."""

    def __init__(self, argv: list[str], env: dict, cwd: Path, stdout: str, stderr: str | None) -> None:
        self.args = ["registry", *argv]
        self.warm = forker()
        self.name, self.pid = self.warm.start(argv, env, cwd, None, Path(stdout), stderr and Path(stderr))
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.warm.wait(self.name, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.warm.wait(self.name, timeout)
            if self.returncode is None:
                raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def send_signal(self, number: int) -> None:
        if self.poll() is None:  # as Popen: never signal a pid that may be another process's by now
            os.kill(self.pid, number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


if __name__ == "__main__":
    # Replies go to a copy of standard output; anything a library prints goes to standard error.
    reply_pipe = os.dup(1)
    os.dup2(2, 1)
    _preload()
    _serve(0, reply_pipe)
