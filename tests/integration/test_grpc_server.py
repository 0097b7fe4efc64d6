"""The server as tensorflow_model_server on the tiny model, exported as two models: gRPC
clients written as TF Serving's documentation writes them, metadata and status, every error
code, config reloads through the API, metrics, and load over both protocols.

Servers bind 127.0.0.1 on free ports; waits poll with deadlines.
"""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
)
from tensorflow_serving.config import model_server_config_pb2

from tests.integration.tf_serving_clients import (
    SENTENCES,
    Server,
    expect_error,
    free_port,
    models_config,
    predict_request,
    rest,
)

# The slow tier (make test-all, CI): integration tests run servers, Dask clusters, real
# corpora or whole evaluations.
pytestmark = pytest.mark.slow


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
