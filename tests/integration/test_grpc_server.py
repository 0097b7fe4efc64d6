"""The server as tensorflow_model_server on the tiny model: gRPC clients written as TF
Serving's documentation writes them, a models.config with two models, reloads, batching
files, metrics, load over both protocols, and SIGTERM under load.

Servers bind 127.0.0.1 on free ports; waits poll with deadlines.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)
from tensorflow_serving.config import model_server_config_pb2

from serving.server import Running, start
from serving.server_flags import parse

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 120.0
SENTENCES = ["the black cats eat the fish .", "my sister will not open the red windows ."]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def rest(url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def models_config(entries: dict[str, tuple[Path, str]]) -> str:
    """A text-format ModelServerConfig: name -> (base path, extra fields)."""
    configs = "".join(
        f"  config {{\n    name: '{name}'\n    base_path: '{base}'\n"
        f"    model_platform: 'tensorflow'\n    {extra}\n  }}\n"
        for name, (base, extra) in entries.items()
    )
    return f"model_config_list {{\n{configs}}}\n"


def predict_request(model: str, texts: list[str], signature: str = "") -> Any:
    """As TF Serving's documentation builds one."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if signature:
        request.model_spec.signature_name = signature
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(texts))
    return request


class Server:
    """``serving.server`` in this process, started from a command line."""

    def __init__(self, argv: list[str]) -> None:
        self.running: Running = start(parse(argv, ""))
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.running.grpc_port}")
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)
        self.rest = f"http://127.0.0.1:{self.running.rest_port}/v1/models"

    def close(self) -> None:
        self.channel.close()
        self.running.stop()


@pytest.fixture(scope="module")
def bases(tiny_run: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Model ``a`` with versions 1 and 2, model ``b`` with version 1 (the tiny export)."""
    root = tmp_path_factory.mktemp("models")
    for name, versions in (("a", (1, 2)), ("b", (1,))):
        for version in versions:
            shutil.copytree(tiny_run["export_base"] / "1", root / name / str(version))
    return {"a": root / "a", "b": root / "b", "root": root}


@pytest.fixture(scope="module")
def server(bases: dict[str, Path]) -> Iterator[Server]:
    config = bases["root"] / "models.config"
    config.write_text(
        models_config(
            {
                "a": (
                    bases["a"],
                    "model_version_policy { all {} }\n"
                    "    version_labels { key: 'stable' value: 1 }",
                ),
                "b": (bases["b"], ""),
            }
        )
    )
    monitoring = bases["root"] / "monitoring.config"
    monitoring.write_text(
        'prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }'
    )
    running = Server(
        [
            f"--port={free_port()}",
            f"--rest_api_port={free_port()}",
            f"--model_config_file={config}",
            f"--monitoring_config_file={monitoring}",
            "--enable_batching",
            "--max_instances=64",
        ]
    )
    yield running
    running.close()


def test_predict_on_every_signature_as_tf_serving_clients_call_it(server: Server) -> None:
    result = server.stub.Predict(predict_request("a", SENTENCES, "serving_default"), 30.0)
    assert (result.model_spec.name, result.model_spec.version.value) == ("a", 2)
    translations = [t.decode() for t in tf.make_ndarray(result.outputs["translations"])]
    scores = tf.make_ndarray(result.outputs["scores"])
    status, body = rest(server.rest + "/a:predict", {"instances": SENTENCES})
    assert status == 200 and translations == [p["translations"] for p in body["predictions"]]
    assert scores.dtype == "float32"  # REST writes each float32 in its shortest exact form
    assert [float(str(v)) for v in scores] == [p["scores"] for p in body["predictions"]]

    request = predict_request("a", SENTENCES[:1], "nbest")
    request.inputs["beam_size"].CopyFrom(tf.make_tensor_proto(3))
    request.model_spec.version.value = 1
    result = server.stub.Predict(request, 30.0)
    assert result.model_spec.version.value == 1 and result.model_spec.signature_name == "nbest"
    assert tf.make_ndarray(result.outputs["translations"]).shape == (1, 3)

    request = predict_request("a", SENTENCES[:1], "translate_with_options")
    for name, value in (("beam_size", 1), ("max_length_a", 0.0), ("max_length_b", 2)):
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    request.model_spec.version_label = "stable"
    request.output_filter.append("translations")
    result = server.stub.Predict(request, 30.0)
    assert result.model_spec.version.value == 1 and set(result.outputs) == {"translations"}
    assert len(tf.make_ndarray(result.outputs["translations"])[0].split()) <= 2

    empty = predict_request("a", [])
    empty.inputs["text"].CopyFrom(tf.make_tensor_proto([], dtype=tf.string))
    empty = server.stub.Predict(empty, 30.0)
    assert tf.make_ndarray(empty.outputs["translations"]).shape == (0,)


def test_metadata_and_status(server: Server) -> None:
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "a"
    request.metadata_field.append("signature_def")
    result = server.stub.GetModelMetadata(request, 30.0)
    assert result.model_spec.version.value == 2
    defs = get_model_metadata_pb2.SignatureDefMap()
    assert result.metadata["signature_def"].Unpack(defs)
    assert {"serving_default", "translate_with_options", "nbest"} <= set(defs.signature_def)
    assert defs.signature_def["serving_default"].inputs["text"].dtype == tf.string.as_datatype_enum
    assert defs.signature_def["nbest"].method_name == "tensorflow/serving/predict"

    status = get_model_status_pb2.GetModelStatusRequest()
    status.model_spec.name = "a"
    rows = server.models.GetModelStatus(status, 30.0).model_version_status
    available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert [(r.version, r.state, r.status.error_code) for r in rows] == [
        (2, available, 0),
        (1, available, 0),
    ]
    status.model_spec.name = "b"
    assert [r.version for r in server.models.GetModelStatus(status, 30.0).model_version_status] == [
        1
    ]


def expect_error(call: Callable[[], Any], code: grpc.StatusCode, fragment: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() == code, caught.value.details()
    assert fragment in caught.value.details() and "\n" not in caught.value.details()


def test_error_codes(server: Server) -> None:
    predict = server.stub.Predict
    not_found, invalid = grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT
    expect_error(lambda: predict(predict_request("zz", ["a"]), 30), not_found, "Latest(zz)")
    request = predict_request("a", ["a"])
    request.model_spec.version.value = 9
    expect_error(lambda: predict(request, 30), not_found, "Specific(a, 9)")
    request = predict_request("a", ["a"])
    request.model_spec.version_label = "nope"
    expect_error(lambda: predict(request, 30), not_found, "label: nope")
    expect_error(lambda: predict(predict_request("a", ["a"], "x"), 30), not_found, '"x" not found')
    request = predict_request("a", ["a"])
    request.inputs["foo"].CopyFrom(tf.make_tensor_proto(1))
    expect_error(lambda: predict(request, 30), invalid, "not in the signature: foo")
    request = predict_request("a", ["a"], "nbest")
    request.inputs["beam_size"].CopyFrom(tf.make_tensor_proto(2.0))
    expect_error(lambda: predict(request, 30), invalid, "must be DT_INT32, got DT_FLOAT")
    request = predict_request("a", ["a"])
    request.inputs["text"].CopyFrom(tf.make_tensor_proto([["a"]]))
    expect_error(lambda: predict(request, 30), invalid, "shape [batch]")
    request.inputs["text"].CopyFrom(tf.make_tensor_proto([1.0]))
    expect_error(lambda: predict(request, 30), invalid, "must be DT_STRING")
    expect_error(lambda: predict(predict_request("a", ["x" * 5000]), 30), invalid, "limit")
    expect_error(lambda: predict(predict_request("a", ["a"] * 65), 30), invalid, "limit")
    unimplemented = grpc.StatusCode.UNIMPLEMENTED
    classify = classification_pb2.ClassificationRequest()
    expect_error(lambda: server.stub.Classify(classify, 30), unimplemented, "not implemented")


def test_reload_config_through_the_api(server: Server, bases: dict[str, Path]) -> None:
    status = get_model_status_pb2.GetModelStatusRequest()
    status.model_spec.name = "c"
    expect_error(lambda: server.models.GetModelStatus(status, 30), grpc.StatusCode.NOT_FOUND, "c")
    config = model_server_config_pb2.ModelServerConfig()
    for name, base in (("a", bases["a"]), ("c", bases["b"])):
        entry = config.model_config_list.config.add(name=name, base_path=str(base))
        entry.model_platform = "tensorflow"
    request = model_management_pb2.ReloadConfigRequest(config=config)
    assert server.models.HandleReloadConfigRequest(request, 60.0).status.error_code == 0
    rows = server.models.GetModelStatus(status, 30.0).model_version_status
    assert [r.version for r in rows] == [1]
    assert server.stub.Predict(predict_request("c", ["a"]), 30).model_spec.name == "c"
    expect_error(
        lambda: server.stub.Predict(predict_request("b", ["a"]), 30),
        grpc.StatusCode.NOT_FOUND,
        "Latest(b)",
    )
    status.model_spec.name = "a"  # 'a' now has the default policy: the latest version only
    assert [r.version for r in server.models.GetModelStatus(status, 30).model_version_status] == [2]


def test_metrics_match_the_requests(server: Server) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    def counts() -> dict[tuple[str, ...], float]:
        url = server.rest.replace("/v1/models", "/monitoring/prometheus/metrics")
        with urllib.request.urlopen(url, timeout=30) as response:
            text = response.read().decode()
        samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
        keys = ("model", "api", "protocol", "status")
        return {
            tuple(s.labels[k] for k in keys): s.value
            for s in samples
            if s.name == "nmt_serving_requests_total"
        }

    before = counts()
    for _ in range(3):
        server.stub.Predict(predict_request("a", ["the cat ."]), 30)
    rest(server.rest + "/a:predict", {"instances": ["the cat ."]})
    rest(server.rest + "/zz:predict", {"instances": ["the cat ."]})
    after = counts()
    delta = {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}
    assert delta == {
        ("a", "predict", "grpc", "OK"): 3.0,
        ("a", "predict", "rest", "OK"): 1.0,
        ("zz", "predict", "rest", "NOT_FOUND"): 1.0,
    }


def test_bounded_load_over_grpc_and_rest_has_zero_errors(server: Server) -> None:
    """32 clients, half gRPC and half REST, 10 requests each, 1-2 sentences per request."""

    def client(i: int) -> list[str]:
        errors = []
        for j in range(10):
            texts = SENTENCES[: 1 + (i + j) % 2]
            if i % 2:
                result = server.stub.Predict(predict_request("a", texts), 60)
                got = len(tf.make_ndarray(result.outputs["translations"]))
            else:
                status, body = rest(server.rest + "/a:predict", {"instances": texts})
                got = len(body.get("predictions", [])) if status == 200 else -status
            if got != len(texts):
                errors.append(f"client {i} request {j}: {got}")
        return errors

    with ThreadPoolExecutor(max_workers=32) as pool:
        errors = [e for batch in pool.map(client, range(32)) for e in batch]
    assert errors == []
    assert max(server.running.core.batcher.batch_sizes) > 2  # both protocols share batches


def test_batching_file_sets_the_batch_sizes(bases: dict[str, Path]) -> None:
    batching = bases["root"] / "batching.config"
    batching.write_text(
        "max_batch_size { value: 4 }\nbatch_timeout_micros { value: 20000 }\n"
        "num_batch_threads { value: 1 }\nallowed_batch_sizes: 2\nallowed_batch_sizes: 4\n"
    )
    running = Server(
        [
            f"--port={free_port()}",
            "--rest_api_port=0",
            "--model_name=b",
            f"--model_base_path={bases['b']}",
            "--enable_batching",
            f"--batching_parameters_file={batching}",
        ]
    )
    try:
        assert running.running.rest is None  # --rest_api_port=0 turns REST off
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(lambda _: running.stub.Predict(predict_request("b", ["a"]), 60), range(16))
            )
        sizes = set(running.running.core.batcher.batch_sizes)
        assert sizes <= {2, 4} and 4 in sizes
        expect_error(
            lambda: running.stub.Predict(predict_request("b", ["a"] * 5), 60),
            grpc.StatusCode.INVALID_ARGUMENT,
            "limit of 4",
        )
    finally:
        running.close()


def test_config_file_poll_and_new_versions_while_clients_call(
    bases: dict[str, Path], tmp_path: Path
) -> None:
    base = tmp_path / "m"
    shutil.copytree(bases["b"] / "1", base / "1")
    config = tmp_path / "models.config"
    config.write_text(models_config({"m": (base, "")}))
    running = Server(
        [
            f"--port={free_port()}",
            "--rest_api_port=0",
            f"--model_config_file={config}",
            "--model_config_file_poll_wait_seconds=0.1",
            "--file_system_poll_wait_seconds=0.05",
            "--enable_batching",
        ]
    )
    errors: list[str] = []
    stop = threading.Event()

    def hammer() -> None:  # requests that name no version must never fail during changes
        while not stop.is_set():
            try:
                running.stub.Predict(predict_request("m", ["the cat ."]), 60)
            except grpc.RpcError as err:
                errors.append(f"{err.code()}: {err.details()}")

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    status = get_model_status_pb2.GetModelStatusRequest()
    status.model_spec.name = "m"

    def versions() -> list[int]:
        rows = running.models.GetModelStatus(status, 30).model_version_status
        return [
            r.version for r in rows if r.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
        ]

    try:
        shutil.copytree(base / "1", tmp_path / "staging")
        (tmp_path / "staging").rename(base / "2")
        wait_until(lambda: versions() == [2], "version 2 to replace version 1 (latest 1)")
        config.write_text(models_config({"m": (base, "model_version_policy { all {} }")}))
        wait_until(lambda: versions() == [2, 1], "the polled config to serve all versions")
    finally:
        stop.set()
        thread.join(DEADLINE_S)
        running.close()
    assert errors == []


def test_sigterm_under_load_loses_no_accepted_request(bases: dict[str, Path]) -> None:
    """The command-line server under gRPC and REST load gets SIGTERM: every request it
    accepted is answered with a translation, and it exits 0."""
    grpc_port, rest_port = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "serving.server",
        f"--port={grpc_port}",
        f"--rest_api_port={rest_port}",
        "--model_name=b",
        f"--model_base_path={bases['b']}",
        "--enable_batching",
    ]
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    url = f"http://127.0.0.1:{rest_port}/v1/models/b:predict"
    try:
        grpc.channel_ready_future(channel).result(timeout=DEADLINE_S)
        wait_until(lambda: _answers(stub), "the model to load")
        answered, refused, failed = _load_then_sigterm(process, stub, url)
        assert process.wait(timeout=DEADLINE_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
        channel.close()
        stderr = process.communicate(timeout=DEADLINE_S)[1]
    assert "finishing the requests in flight" in stderr and "Traceback" not in stderr
    assert failed == [] and answered > 40, (answered, refused, failed)
    counts = re.search(r"predict requests: (\d+) accepted, (\d+) answered", stderr)
    assert counts is not None, stderr[-2000:]
    # Every request the server took was answered, and every answer reached its client; the
    # others were refused before the server took them (UNAVAILABLE, CANCELLED, closed socket).
    waiting = 1  # the model-load probe that answered before the load started
    assert int(counts[1]) == int(counts[2]) == answered + waiting, (counts[0], answered)


def _answers(stub: Any) -> bool:
    try:
        return bool(stub.Predict(predict_request("b", ["a"]), 10).outputs)
    except grpc.RpcError:
        return False


def _load_then_sigterm(
    process: subprocess.Popen[str], stub: Any, url: str
) -> tuple[int, int, list[str]]:
    """8 clients (gRPC and REST) send requests; SIGTERM after 40 answers. A request is
    refused when the server no longer takes connections or calls (UNAVAILABLE, connection
    refused or reset); any other failure, or a wrong answer, is a lost request."""
    answered, refused, failed = [0], [0], []
    lock = threading.Lock()
    sent_term = threading.Event()

    def client(i: int) -> None:
        while True:
            try:
                if i % 2:
                    ok = (
                        len(
                            tf.make_ndarray(
                                stub.Predict(predict_request("b", SENTENCES), 60).outputs[
                                    "translations"
                                ]
                            )
                        )
                        == 2
                    )
                else:
                    ok = len(rest(url, {"instances": SENTENCES})[1]["predictions"]) == 2
            except grpc.RpcError as err:
                with lock:
                    refusal = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}
                    if err.code() in refusal and sent_term.is_set():
                        refused[0] += 1
                    else:
                        failed.append(f"client {i}: {err.code()}: {err.details()}")
                return
            except (urllib.error.URLError, ConnectionError) as err:
                with lock:
                    if sent_term.is_set():
                        refused[0] += 1
                    else:
                        failed.append(f"client {i}: REST failed before SIGTERM: {err}")
                return
            except Exception as err:  # a wrong answer's shape: a lost request
                with lock:
                    failed.append(f"client {i}: {type(err).__name__}: {err}")
                return
            with lock:
                if not ok:
                    failed.append(f"client {i}")
                    return
                answered[0] += 1
                if answered[0] == 40 and not sent_term.is_set():
                    sent_term.set()
                    process.send_signal(signal.SIGTERM)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_S)
    return answered[0], refused[0], failed
