"""The REST server on the tiny model: TF Serving's request formats, version watching, load.

Servers bind 127.0.0.1 on an ephemeral port. Waits poll with deadlines.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from serving.model_manager import ModelManager
from serving.request_batcher import DynamicBatcher
from serving.rest_api import Limits
from serving.rest_app import RestServer, make_app
from serving.rest_handler import RestHandler
from serving.server import run_batch
from serving.server_config import ModelEntry, VersionPolicy
from serving.server_core import ServerCore

# The slow tier (make test-all, CI): integration tests run servers, Dask clusters, real
# corpora or whole evaluations.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 120.0


def call(url: str, body: Any = None) -> tuple[int, Any]:
    """GET (no body) or POST JSON; returns the status and the decoded JSON answer."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Running:
    """An in-process server on 127.0.0.1:<ephemeral> for the model under ``base``."""

    def __init__(self, base: Path, poll_seconds: float = 60.0) -> None:
        entry = ModelEntry("tiny", base, VersionPolicy("all"))
        self.manager = ModelManager([entry], poll_seconds)
        self.batcher = DynamicBatcher(run_batch, max_batch_size=64, timeout_s=0.005)
        core = ServerCore(self.manager, self.batcher, Limits(max_instances=64))
        self.http = RestServer(make_app(RestHandler(core), 1 << 22, None), "127.0.0.1", 0)
        host, port = self.http.start()
        self.url = f"http://{host}:{port}/v1/models/tiny"

    def close(self) -> None:
        self.http.stop()
        self.manager.stop()
        self.batcher.close()


@pytest.fixture(scope="module")
def server(tiny_run: dict[str, Path]) -> Iterator[Running]:
    running = Running(tiny_run["export_base"])
    yield running
    running.close()


def test_status_and_metadata(server: Running) -> None:
    assert call(server.url) == (
        200,
        {
            "model_version_status": [
                {
                    "version": "1",
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        },
    )
    assert call(server.url + "/versions/1")[0] == 200
    status, meta = call(server.url + "/metadata")
    assert status == 200
    assert meta["model_spec"] == {"name": "tiny", "signature_name": "", "version": "1"}
    defs = meta["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "translate_with_options", "nbest"} <= set(defs)
    text = defs["serving_default"]["inputs"]["text"]
    assert text["dtype"] == "DT_STRING"
    assert text["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}
    assert set(defs["nbest"]["outputs"]) == {"translations", "scores"}
    assert defs["nbest"]["method_name"] == "tensorflow/serving/predict"


def test_row_format_matches_the_savedmodel(server: Running, tiny_run: dict[str, Path]) -> None:
    from core.saved_model import load_translate_fn

    texts = ["the black cats eat the fish .", "my sister will not open the red windows ."]
    status, body = call(server.url + ":predict", {"instances": [texts[0], {"text": texts[1]}]})
    assert status == 200
    expected = load_translate_fn(tiny_run["export_base"] / "1")(texts)
    assert [p["translations"] for p in body["predictions"]] == expected
    assert all(isinstance(p["scores"], float) and p["scores"] < 0 for p in body["predictions"])


def test_columnar_format_and_empty_text(server: Running) -> None:
    status, body = call(server.url + "/versions/1:predict", {"inputs": ["the dog .", ""]})
    assert status == 200 and set(body) == {"outputs"}
    assert len(body["outputs"]["translations"]) == 2 and body["outputs"]["translations"][1] == ""
    assert body["outputs"]["scores"][1] == 0.0


def test_nbest_and_options_signatures(server: Running) -> None:
    request = {"signature_name": "nbest", "instances": [{"text": "the cat .", "beam_size": 2}]}
    status, body = call(server.url + ":predict", request)
    assert status == 200
    (row,) = body["predictions"]
    assert len(row["translations"]) == 2 and len(row["scores"]) == 2
    request = {
        "signature_name": "translate_with_options",
        "inputs": {"text": ["the cat ."], "beam_size": 1, "max_length_a": 0, "max_length_b": 2},
    }
    status, body = call(server.url + ":predict", request)
    assert status == 200 and len(body["outputs"]["translations"][0].split()) <= 2


def test_errors_over_http(server: Running) -> None:
    base = server.url.rsplit("/", 1)[0]
    assert call(base + "/half:predict", {"instances": [1.0, 5.0]}) == (
        404,
        {"error": "Servable not found for request: Latest(half)"},
    )
    assert call(server.url + "/versions/9:predict", {"instances": ["a"]})[0] == 404
    assert call(server.url + ":predict", b'{"instances": [')[0] == 400
    assert call(server.url + ":predict", {"instances": [1.0]})[0] == 400
    assert call(server.url + ":predict", {"signature_name": "x", "instances": ["a"]})[0] == 404
    assert call(server.url + ":predict", {"instances": ["a"] * 65})[0] == 400
    assert call(server.url + ":predict", {"inputs": ["x" * 5000]})[0] == 400


def test_a_tf_serving_client_works_unchanged(server: Running) -> None:
    """The TF Serving docs' requests, byte for byte: row format with one named input."""
    port = server.url.split(":")[2].split("/")[0]
    body = b'{"instances": [ "foo", "bar", "baz" ]}'
    status, answer = call(f"http://localhost:{port}/v1/models/tiny:predict", body)
    assert status == 200 and len(answer["predictions"]) == 3
    curl = shutil.which("curl")
    if curl is None:
        return
    out = subprocess.run(
        [curl, "-s", "-d", body.decode(), "-X", "POST", server.url + ":predict"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert len(json.loads(out.stdout)["predictions"]) == 3
    out = subprocess.run([curl, "-s", server.url], capture_output=True, timeout=60, check=True)
    assert json.loads(out.stdout)["model_version_status"][0]["state"] == "AVAILABLE"


def test_load_32_clients_500_requests_zero_errors(server: Running) -> None:
    """Each client sends 1-3 texts with a distinct empty-text pattern and checks its rows."""
    sentences = ["the black cats eat the fish .", "my sister will not open the red windows ."]

    def client(i: int) -> str | None:
        instances = [sentences[i % 2] if (i >> j) & 1 else "" for j in range(i % 3 + 1)]
        status, body = call(server.url + ":predict", {"instances": instances})
        if status != 200 or len(body["predictions"]) != len(instances):
            return f"request {i}: {status} {body}"
        for text, row in zip(instances, body["predictions"], strict=True):
            if (row["translations"] == "") != (text == ""):
                return f"request {i}: rows were mixed up: {instances} -> {body}"
        return None

    server.batcher.batch_sizes.clear()
    with ThreadPoolExecutor(max_workers=32) as pool:
        errors = [e for e in pool.map(client, range(500)) if e is not None]
    assert errors == []
    assert max(server.batcher.batch_sizes) > 1  # concurrent requests were batched together


def test_bad_requests_in_a_burst_fail_alone(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """5 rounds of 31 good requests and 3 bad ones sent at once: only the bad ones fail,
    each with a 400 and a one-line error, and no good request fails with them."""
    good = {"instances": ["the black cats eat the fish .", "the cat ."]}
    bad = [
        {"instances": ["\ud800 cat"]},  # valid JSON, but a lone surrogate is no text
        {"inputs": ["the dog .", "x" * 5000]},  # over --max_text_length
        {"instances": [{"b64": "/w=="}]},  # base64 of a byte that is not UTF-8
    ]
    requests = [good] * 31 + bad

    def send(request: dict[str, Any]) -> tuple[bool, int, Any]:
        return (request is good, *call(server.url + ":predict", request))

    server.batcher.batch_sizes.clear()
    results = []
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        for _ in range(5):
            results += list(pool.map(send, requests))
    failed_good = [(s, b) for is_good, s, b in results if is_good and s != 200]
    assert failed_good == []
    assert all(len(b["predictions"]) == 2 for is_good, _, b in results if is_good)
    errors = [(s, b) for is_good, s, b in results if not is_good]
    assert len(errors) == 15 and {s for s, _ in errors} == {400}
    assert all(set(b) == {"error"} and "\n" not in b["error"] for _, b in errors)
    assert not [r for r in caplog.records if r.exc_info is not None]  # no tracebacks logged


def test_new_versions_load_and_removed_ones_unload(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    base = tmp_path / "tiny"
    shutil.copytree(tiny_run["export_base"] / "1", base / "1")
    running = Running(base, poll_seconds=0.05)
    errors: list[Any] = []
    stop = threading.Event()

    def hammer() -> None:  # requests that name no version must never fail during changes
        while not stop.is_set():
            status, body = call(running.url + ":predict", {"instances": ["the cat ."]})
            if status != 200:
                errors.append(body)

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    try:
        shutil.copytree(base / "1", tmp_path / "staging")
        (tmp_path / "staging").rename(base / "2")  # appear atomically, as exports do
        wait_until(lambda: served_versions(running.url) == ["2", "1"], "version 2 to load")
        assert call(running.url + "/metadata")[1]["model_spec"]["version"] == "2"
        assert call(running.url + "/versions/2:predict", {"instances": ["a"]})[0] == 200
        shutil.rmtree(base / "1")
        wait_until(lambda: served_versions(running.url) == ["2"], "version 1 to unload")
        assert call(running.url + "/versions/1:predict", {"instances": ["a"]})[0] == 404
        assert call(running.url + "/versions/1")[0] == 404
    finally:
        stop.set()
        thread.join(DEADLINE_S)
        running.close()
    assert errors == []


def served_versions(url: str) -> list[str]:
    """The versions the status API lists as available (not still loading)."""
    rows = call(url)[1].get("model_version_status", [])
    return [row["version"] for row in rows if row["state"] == "AVAILABLE"]
