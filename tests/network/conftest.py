"""A real local HTTP server that plays the network side of the webhook contract."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from network.signing import SIGNATURE_HEADER, SignatureError, verify

WEBHOOK_SECRET = "whsec-test-7f3a9c1e"


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    signature_error: str | None

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class FakeNetwork:
    url: str
    secret: str = WEBHOOK_SECRET
    status: int = 200
    reply: bytes = b'{"ok":true}'
    delay: float = 0.0
    extra_headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def respond(self, status: int, reply: bytes = b"", *, delay: float = 0.0, headers=None) -> None:
        self.status, self.reply, self.delay = status, reply, delay
        self.extra_headers = dict(headers or {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    network: FakeNetwork

    def handle_error(self, request, client_address):
        # The timeout test hangs up on a sleeping handler; its broken pipe is expected noise.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self):
        network = self.server.network
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            verify(network.secret, body, self.headers.get(SIGNATURE_HEADER))
            error = None
        except SignatureError as exc:
            error = str(exc)
        headers = {name.lower(): value for name, value in self.headers.items()}
        network.received.append(Received(self.path, headers, body, error))
        if network.delay:
            time.sleep(network.delay)
        status = 401 if error else network.status
        self.send_response(status)
        for name, value in network.extra_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(network.reply)))
        self.end_headers()
        self.wfile.write(network.reply)

    def log_message(self, format, *args):
        pass


@pytest.fixture(autouse=True)
def _no_proxy_for_localhost(monkeypatch):
    # A proxy configured in the environment must not intercept calls to the local test server.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def fake_network():
    server = _Server(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    server.network = FakeNetwork(url=f"http://{host}:{port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.network
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url():
    # Bind then release an ephemeral port so nothing is listening on it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
