"""A real RFC 3161 timestamp authority on loopback for the tests: OpenSSL's `ts -reply` behind a small
HTTP handler. A root CA issues the TSA's certificate (extendedKeyUsage critical timeStamping)."""

import os
import shutil
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TS_CONFIG = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256

[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def need(binary: str) -> str:
    """The binary's path; missing, a skip locally and a failure under CI=true."""
    found = shutil.which(binary)
    if found is None:
        message = f"{binary} not found (Debian: openssl, poppler-utils)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI needs it")
        pytest.skip(message)
    return found


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([need("openssl"), *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_authority(folder: Path) -> Path:
    """Root CA and TSA key and certificate, and the `ts` configuration; returns the config file."""
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root.key", cwd=folder)
    _openssl(
        "req", "-x509", "-new", "-key", "root.key", "-sha256", "-days", "3650", "-out", "root.pem",
        "-subj", "/O=Test Time Ltd/CN=Test Time Root CA",
        "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "tsa.key", cwd=folder)
    _openssl(
        "req",
        "-new",
        "-key",
        "tsa.key",
        "-subj",
        "/O=Test Time Ltd/CN=Test TSA",
        "-out",
        "tsa.csr",
        cwd=folder,
    )
    config = folder / "ts.cnf"
    config.write_text(TS_CONFIG.format(dir=folder))
    _openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
        "-days", "3650", "-sha256", "-extfile", str(config), "-extensions", "tsa_ext", "-out", "tsa.pem",
        cwd=folder,
    )  # fmt: skip
    (folder / "serial").write_text("01\n")
    return config


class Authority:
    """The loopback TSA: ``url`` answers RFC 3161 requests; ``delay`` slows each answer; ``requests``
    counts them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.config = make_authority(folder)
        self.root = str(folder / "root.pem")
        self.delay = 0.0
        self.requests = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"
        self.thread = threading.Thread(target=self.server.serve_forever, name="tsa", daemon=True)

    def reply(self, query: bytes) -> bytes:
        """OpenSSL's answer to one TimeStampReq (the serial file is shared: one at a time)."""
        with self._lock, tempfile.TemporaryDirectory(dir=self.folder) as work:
            (Path(work) / "q.tsq").write_bytes(query)
            _openssl(
                "ts",
                "-reply",
                "-config",
                str(self.config),
                "-queryfile",
                "q.tsq",
                "-out",
                "r.tsr",
                cwd=Path(work),
            )
            self.requests += 1
            return (Path(work) / "r.tsr").read_bytes()

    def _handler(self):
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(authority.delay)
                try:
                    body, status = authority.reply(query), 200
                except subprocess.CalledProcessError:
                    body, status = b"bad request", 400
                self.send_response(status)
                self.send_header(
                    "Content-Type", "application/timestamp-reply" if status == 200 else "text/plain"
                )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def start(self) -> "Authority":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
