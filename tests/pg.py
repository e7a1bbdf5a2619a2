"""A throwaway PostgreSQL cluster from the machine's binaries, on a free loopback port."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path


def find_binaries() -> Path | None:
    for candidate in [
        shutil.which("pg_ctl"),
        *sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True),
    ]:
        if candidate and Path(candidate).exists():
            return Path(candidate).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb + pg_ctl start in a temporary directory; ``stop()`` removes it all."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="registry-pg-"))
        self.port = _free_port()
        # initdb refuses to run as root: run the server as the 'postgres' user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        data = self.root / "data"
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        self.resume()
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def resume(self) -> None:
        """Start the server on the existing data directory (after ``start`` or ``halt``)."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.root / "data"),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def halt(self) -> None:
        """Stop the server (its clients are disconnected), keeping its data for ``resume``."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def processes(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, ...)."""
        pid_file = self.root / "data" / "postmaster.pid"
        if not pid_file.exists():
            return []  # not running
        postmaster = int(pid_file.read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process has gone
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def signal_all(self, signum: int) -> None:
        """SIGSTOP freezes the cluster: connections stay open but nothing answers; SIGCONT thaws it."""
        for pid in self.processes():
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.signal_all(signal.SIGCONT)  # a frozen server cannot stop
        try:
            if (self.root / "data" / "postmaster.pid").exists():  # not halted
                self._run(
                    str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
