"""Test fixtures: a real ``faos serve`` on a free port with a temporary
SQLite database, its keys, and SDK clients for it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from faos import Faos

REPO = Path(__file__).resolve().parents[3]


def faos_bin() -> str:
    path = os.environ.get("FAOS_BIN") or str(REPO / "target" / "debug" / "faos")
    if not os.access(path, os.X_OK):
        pytest.fail(f"the faos binary is missing at {path} (set FAOS_BIN)", pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    bin: str
    database: str
    base_url: str
    live_key: str
    test_key: str
    openapi: Dict[str, Any]
    process: "subprocess.Popen[bytes]"

    def has_path(self, path: str) -> bool:
        return path in self.openapi.get("paths", {})

    def new_key(self, mode: str = "test") -> str:
        out = subprocess.run(
            [self.bin, "keys", "create", "--database", self.database, "--mode", mode],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return out.stdout.strip()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    binary = faos_bin()
    workdir = tempfile.mkdtemp(prefix="faos-sdk-py-")
    database = f"sqlite://{workdir}/faos.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAOS_")}
    env.update(
        {
            # The URL guard refuses loopback unless the operator allows it:
            # the webhook receiver of the tests listens on 127.0.0.1.
            "FAOS_OUTBOUND_ALLOW": "127.0.0.1",
            "FAOS_WEBHOOK_RETRY_SCHEDULE": "1,1,1",
            "FAOS_LOG": "warn",
        }
    )

    def cli(*args: str) -> str:
        out = subprocess.run(
            [binary, *args], check=True, capture_output=True, text=True, env=env, cwd=workdir, timeout=120
        )
        return out.stdout.strip()

    # Enterprise limits first, so the suite is never throttled; this creates
    # the default organization, so `serve` prints no keys: make them here.
    cli(
        "orgs", "set-plan", "--database", database, "--org", "default", "--plan", "enterprise",
        "--per-minute", "1000000", "--per-day", "100000000",
    )  # fmt: skip
    live_key = cli("keys", "create", "--database", database, "--mode", "live")
    test_key = cli("keys", "create", "--database", database, "--mode", "test")
    assert live_key.startswith("sk_live_") and test_key.startswith("sk_test_"), (live_key, test_key)
    openapi = json.loads(cli("openapi"))
    port = free_port()
    log = open(os.path.join(workdir, "server.log"), "wb")
    process = subprocess.Popen(
        [binary, "serve", "--addr", f"127.0.0.1:{port}", "--database", database],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            log.flush()
            pytest.fail(f"faos serve exited: {Path(workdir, 'server.log').read_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("faos serve did not become healthy in 60 s", pytrace=False)
        time.sleep(0.1)
    try:
        yield Server(binary, database, base + "/v1", live_key, test_key, openapi, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def client(server: Server) -> Iterator[Faos]:
    with Faos(api_key=server.test_key, base_url=server.base_url) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- local HTTP servers


@dataclass
class Received:
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    """A tiny HTTP server on 127.0.0.1 whose answers a test scripts."""

    url: str
    received: List[Received] = field(default_factory=list)
    event: threading.Event = field(default_factory=threading.Event)

    def wait_for(self, predicate: Callable[[List[Received]], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(list(self.received)):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {self.received!r}")
            time.sleep(0.05)


Responder = Callable[[Received, int], Tuple[int, Dict[str, str], bytes]]


@pytest.fixture
def local_server() -> Iterator[Callable[[Responder], LocalServer]]:
    servers: List[ThreadingHTTPServer] = []

    def start(responder: Responder) -> LocalServer:
        state: Dict[str, Any] = {}

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                got = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                local: LocalServer = state["local"]
                local.received.append(got)
                status, headers, content = responder(got, len(local.received))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(httpd)
        local = LocalServer(f"http://127.0.0.1:{httpd.server_address[1]}")
        state["local"] = local
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return local

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def envelope(data: Any, **meta: Any) -> bytes:
    return json.dumps({"data": data, "meta": {"request_id": "req_local", "timestamp": "2026-01-01T00:00:00Z", **meta}}).encode()


def agent_json(agent_id: str = "agt_local") -> Dict[str, Any]:
    return {
        "object": "agent",
        "id": agent_id,
        "name": "Local",
        "template": None,
        "instructions": "",
        "model": "builtin/echo",
        "tools": [],
        "max_steps": 10,
        "metadata": {},
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
    }


def wait_until(predicate: Callable[[], Optional[Any]], timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
