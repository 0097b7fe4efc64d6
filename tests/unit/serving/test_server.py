"""The server's request handling and HTTP layer with a stand-in model (no TensorFlow)."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

from serving.metrics import Metrics
from serving.model_manager import ModelManager
from serving.model_registry import InvalidInput
from serving.request_batcher import DynamicBatcher
from serving.rest_api import Limits
from serving.rest_app import RestServer, make_app
from serving.rest_handler import RestHandler
from serving.server import run_batch
from serving.server_config import ModelEntry, VersionPolicy
from serving.server_core import ServerCore

OPTIONS = {"beam_size": int, "alpha": float, "max_length_a": float, "max_length_b": int}


class FakeServable:
    """Upper-cases texts; the nbest signature repeats each ``beam_size`` times."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.inputs = {
            "serving_default": {"text": str},
            "nbest": {"text": str, **OPTIONS},
        }
        self.defaults = {"beam_size": 2, "alpha": 0.6, "max_length_a": 1.5, "max_length_b": 5}
        outputs = {"outputs": {"scores": {}, "translations": {}}}
        self.signature_defs = {"serving_default": outputs, "nbest": outputs}
        self.blessing = {"decision": "blessed", "forced": False} if version == 2 else None

    def run(self, signature: str, options: Any, texts: list[str]) -> dict[str, list[Any]]:
        if "fail" in texts:
            raise RuntimeError("model exploded")
        if "invalid" in texts:
            raise InvalidInput("cannot take 'invalid'\n  (a long TensorFlow stack)")
        best = [f"v{self.version}:{t.upper()}" for t in texts]
        if signature == "nbest":
            k = dict(options)["beam_size"]
            return {"scores": [[-1.0] * k for _ in texts], "translations": [[b] * k for b in best]}
        return {"scores": [-1.0 for _ in texts], "translations": best}


def fake_core(base: Path, batcher: DynamicBatcher, metrics: Metrics | None = None) -> ServerCore:
    """Model ``m`` with versions 1 and 2 (policy all) under ``base``, served by fakes."""
    for version in (1, 2):
        (base / str(version)).mkdir(parents=True, exist_ok=True)
        (base / str(version) / "saved_model.pb").write_bytes(b"")
    entry = ModelEntry("m", base, VersionPolicy("all"), {"stable": 1})
    manager = ModelManager([entry], 60.0, loader=lambda path, version: FakeServable(version))
    return ServerCore(manager, batcher, Limits(max_instances=8, max_text_length=100), metrics)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[RestHandler]:
    batcher = DynamicBatcher(run_batch, max_batch_size=8, timeout_s=0.0)
    core = fake_core(tmp_path, batcher, Metrics(batcher.queued_rows))
    yield RestHandler(core)
    core.manager.stop()
    batcher.close()


def post(app: RestHandler, path: str, request: Any) -> tuple[int, dict[str, Any]]:
    return asyncio.run(app.handle_async("POST", path, json.dumps(request).encode()))


def test_predict_uses_the_latest_version_or_the_one_named(app: RestHandler) -> None:
    status, body = post(app, "/v1/models/m:predict", {"instances": ["a", "b"]})
    assert status == 200
    assert body == {
        "predictions": [
            {"scores": -1.0, "translations": "v2:A"},
            {"scores": -1.0, "translations": "v2:B"},
        ]
    }
    status, body = post(app, "/v1/models/m/versions/1:predict", {"inputs": ["a"]})
    assert (status, body) == (200, {"outputs": {"scores": [-1.0], "translations": ["v1:A"]}})


def test_nbest_uses_exported_defaults_and_overrides(app: RestHandler) -> None:
    _, body = post(app, "/v1/models/m:predict", {"signature_name": "nbest", "instances": ["a"]})
    assert body["predictions"] == [{"scores": [-1.0, -1.0], "translations": ["v2:A"] * 2}]
    request = {"signature_name": "nbest", "inputs": {"text": ["a"], "beam_size": 3}}
    _, body = post(app, "/v1/models/m:predict", request)
    assert body["outputs"]["translations"] == [["v2:A"] * 3]


def test_empty_request_gives_empty_outputs(app: RestHandler) -> None:
    assert post(app, "/v1/models/m:predict", {"instances": []}) == (200, {"predictions": []})
    assert post(app, "/v1/models/m:predict", {"inputs": []}) == (
        200,
        {"outputs": {"scores": [], "translations": []}},
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [
        ("POST", "/v1/models/other:predict", {"instances": ["a"]}, 404, "Latest(other)"),
        ("POST", "/v1/models/m/versions/9:predict", {"instances": ["a"]}, 404, "Specific(m, 9)"),
        ("GET", "/v1/models/m/versions/9", None, 404, "Could not find version 9 of model m"),
        ("GET", "/v1/models/m/versions/9/metadata", None, 404, "Specific(m, 9)"),
        ("GET", "/v1/models/other", None, 404, "Latest(other)"),
        ("POST", "/v1/models/m:predict", {"signature_name": "x", "inputs": []}, 404, '"x"'),
        ("POST", "/v1/models/m:predict", {"instances": ["a"] * 9}, 400, "exceeds the limit"),
        ("POST", "/v1/models/m:predict", {"instances": ["fail"]}, 500, "model exploded"),
        ("POST", "/v1/models/m:predict", {"instances": ["invalid"]}, 400, "take 'invalid'"),
        ("POST", "/v1/models/m:predict", {"inputs": ["\ud800"]}, 400, "lone surrogate"),
        ("GET", "/nothing", None, 404, "Malformed request"),
    ],
)
def test_errors(
    app: RestHandler, method: str, path: str, body: Any, status: int, fragment: str
) -> None:
    data = json.dumps(body).encode() if body is not None else None
    got_status, got = asyncio.run(app.handle_async(method, path, data))
    assert got_status == status and set(got) == {"error"}
    assert fragment in got["error"] and "\n" not in got["error"]


def test_status_and_metadata(app: RestHandler) -> None:
    status, body = asyncio.run(app.handle_async("GET", "/v1/models/m", None))
    assert status == 200
    assert [row["version"] for row in body["model_version_status"]] == ["2", "1"]
    status, body = asyncio.run(app.handle_async("GET", "/v1/models/m/versions/1/metadata", None))
    assert status == 200 and body["model_spec"]["version"] == "1"
    assert set(body["metadata"]) == {"signature_def"}  # exported without a blessing record
    status, body = asyncio.run(app.handle_async("GET", "/v1/models/m/metadata", None))
    assert body["metadata"]["blessing"] == {"decision": "blessed", "forced": False}


@pytest.fixture
def http_server(app: RestHandler) -> Iterator[tuple[str, int]]:
    server = RestServer(make_app(app, 1000, "/metrics"), "127.0.0.1", 0)
    yield server.start()
    server.stop()


def request(
    address: tuple[str, int], method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        assert response.getheader("Content-Type") == "application/json"
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_http_layer(http_server: tuple[str, int]) -> None:
    assert http_server[0] == "127.0.0.1"
    body = b'{"instances": ["a"]}'
    status, got = request(http_server, "POST", "/v1/models/m:predict", body, {})
    assert status == 200 and got["predictions"][0]["translations"] == "v2:A"
    status, got = request(http_server, "POST", "/v1/models/m:predict", b"x" * 1001, {})
    assert status == 413 and "exceeds 1000 bytes" in got["error"]
    chunked = iter([b'{"instances": ', b"[" + b'"a", ' * 300 + b'"a"]}'])  # no Content-Length
    status, got = request(http_server, "POST", "/v1/models/m:predict", chunked, {})  # type: ignore[arg-type]
    assert status == 413
    status, got = request(http_server, "DELETE", "/v1/models/m", None, {})
    assert status == 405
    status, got = request(http_server, "POST", "/v1/models/m:predict", b"{", {})
    assert status == 400 and got["error"].startswith("JSON Parse error")
    body = b'{"signature_name": "\\ud800", "inputs": []}'  # echoed in the error message
    status, got = request(http_server, "POST", "/v1/models/m:predict", body, {})
    assert status == 404 and got == {
        "error": 'Serving signature name: "\ud800" not found in signature def'
    }
    status, got = request(http_server, "POST", "/v1/models/m/labels/stable:predict", body_a(), {})
    assert status == 200 and got["predictions"][0]["translations"] == "v1:A"
    status, got = request(http_server, "GET", "/v1/models/m/labels/nope", None, {})
    assert status == 404 and "Unrecognized servable version label: nope" in got["error"]
    status, got = request(http_server, "POST", "/v1/models/m:classify", body_a(), {})
    assert status == 501


def body_a() -> bytes:
    return b'{"instances": ["a"]}'


def test_metrics_count_every_answer(app: RestHandler, http_server: tuple[str, int]) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    for _ in range(3):
        request(http_server, "POST", "/v1/models/m:predict", body_a(), {})
    request(http_server, "POST", "/v1/models/m/versions/9:predict", body_a(), {})
    conn = http.client.HTTPConnection(*http_server, timeout=10)
    conn.request("GET", "/metrics")
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
    counts = {
        (s.labels["api"], s.labels["status"]): s.value
        for s in families["nmt_serving_requests"].samples
        if s.name == "nmt_serving_requests_total"
    }
    assert counts == {("predict", "OK"): 3.0, ("predict", "NOT_FOUND"): 1.0}
    latency = families["nmt_serving_request_latency_seconds"].samples
    assert [s.value for s in latency if s.name.endswith("_count")] == [3.0]


def exchange(address: tuple[str, int], raw: bytes) -> bytes:
    """Send raw HTTP on one connection and read until the server closes it."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    return answer


@pytest.mark.parametrize(("path", "status"), [("/v1/models/m", 200), ("/v1/models/x", 404)])
def test_head_sends_the_headers_of_get_without_a_body(
    http_server: tuple[str, int], path: str, status: int
) -> None:
    """HEAD, then GET on the same connection: GET's answer follows HEAD's headers directly."""
    head_request = f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    get_request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    head, _, rest = exchange(http_server, head_request + get_request).partition(b"\r\n\r\n")
    assert rest.startswith(b"HTTP/1.1 ")  # no body between HEAD's headers and the next answer
    get_head, _, get_body = rest.partition(b"\r\n\r\n")
    status_line = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()
    assert head.split(b"\r\n")[0] == get_head.split(b"\r\n")[0] == status_line
    length = f"content-length: {len(get_body)}".encode()  # header names are case-insensitive
    assert length in head.lower().split(b"\r\n") and length in get_head.lower().split(b"\r\n")


def test_keep_alive_serves_many_requests_on_one_connection(http_server: tuple[str, int]) -> None:
    conn = http.client.HTTPConnection(*http_server, timeout=10)
    try:
        for i in range(20):
            conn.request("POST", "/v1/models/m:predict", body=json.dumps({"inputs": [str(i)]}))
            response = conn.getresponse()
            assert json.loads(response.read())["outputs"]["translations"] == [f"v2:{i}"]
    finally:
        conn.close()


def test_server_imports_no_training_code() -> None:
    """The server needs only TensorFlow, tensorflow-text and its serving libraries."""
    code = (
        "import sys, serving.server; "
        "print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'seq2seq', 'pipeline', 'tqdm', 'yaml', 'apache_beam', 'keras'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
