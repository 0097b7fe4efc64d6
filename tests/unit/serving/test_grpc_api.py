"""The gRPC services on a stand-in model: a full queue, a missed deadline, a model failure,
the blessing record in the model metadata."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import tensorflow as tf
from google.protobuf import json_format, struct_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from serving.grpc_api import GrpcServer
from serving.model_manager import ModelManager
from serving.request_batcher import DynamicBatcher
from serving.rest_api import Limits
from serving.rest_handler import RestHandler
from serving.server import run_batch
from serving.server_config import ModelEntry
from serving.server_core import ServerCore


class HeldServable:
    """Echoes texts once ``release`` is set; ``fail`` makes the model call fail."""

    def __init__(self) -> None:
        self.version = 1
        self.inputs = {"serving_default": {"text": tf.string}}
        self.defaults: dict[str, Any] = {}
        outputs = {"translations": {"dtype": "DT_STRING"}, "scores": {"dtype": "DT_FLOAT"}}
        self.signature_defs = {"serving_default": {"outputs": outputs}}
        self.blessing: dict[str, Any] | None = None
        self.release = threading.Event()
        self.entered = threading.Event()

    def run(self, signature: str, options: Any, texts: list[str]) -> dict[str, list[Any]]:
        self.entered.set()
        self.release.wait(30)
        if "fail" in texts:
            raise RuntimeError("model exploded\n  with a stack")
        return {"translations": [t.upper() for t in texts], "scores": [-1.5 for _ in texts]}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Any, HeldServable, ServerCore]]:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"")
    servable = HeldServable()
    manager = ModelManager([ModelEntry("m", tmp_path)], 60.0, loader=lambda p, v: servable)
    batcher = DynamicBatcher(run_batch, 2, 0.0, max_queued_rows=1)
    core = ServerCore(manager, batcher, Limits(max_instances=2), timeout_s=30.0)
    server = GrpcServer(core, "127.0.0.1:0", 1 << 20)
    port = server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel), servable, core
    servable.release.set()
    channel.close()
    server.stop()
    batcher.close()
    manager.stop()


def request(texts: list[str]) -> Any:
    message = predict_pb2.PredictRequest()
    message.model_spec.name = "m"
    message.inputs["text"].CopyFrom(tf.make_tensor_proto(texts))
    return message


def test_full_queue_is_resource_exhausted_on_both_apis(
    served: tuple[Any, HeldServable, ServerCore],
) -> None:
    stub, servable, core = served
    running = stub.Predict.future(request(["a"]), 30)  # held in the model
    assert servable.entered.wait(30)
    queued = stub.Predict.future(request(["b"]), 30)  # the one row the queue holds
    while core.batcher.queued_rows() < 1:
        threading.Event().wait(0.01)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(request(["c"]), 30)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "queue is full" in caught.value.details()
    status, body = asyncio.run(
        RestHandler(core).handle_async("POST", "/v1/models/m:predict", b'{"inputs": ["c"]}')
    )
    assert status == 429 and "queue is full" in body["error"]
    servable.release.set()
    assert tf.make_ndarray(running.result().outputs["translations"]).tolist() == [b"A"]
    assert tf.make_ndarray(queued.result().outputs["scores"]).tolist() == [-1.5]


def test_deadline_and_model_failure_codes(served: tuple[Any, HeldServable, ServerCore]) -> None:
    stub, servable, _ = served
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(request(["a"]), 0.3)  # the model is held: the client's deadline passes
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    servable.release.set()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(request(["fail"]), 30)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == "Prediction failed: RuntimeError: model exploded"


def metadata(stub: Any, fields: list[str]) -> Any:
    message = get_model_metadata_pb2.GetModelMetadataRequest()
    message.model_spec.name = "m"
    message.metadata_field.extend(fields)
    return stub.GetModelMetadata(message, 30)


def test_metadata_shows_the_blessing_record_when_asked(
    served: tuple[Any, HeldServable, ServerCore],
) -> None:
    stub, servable, _ = served
    assert set(metadata(stub, ["signature_def", "blessing"]).metadata) == {"signature_def"}
    servable.blessing = {"decision": "blessed", "forced": False, "baseline": {"version": 1}}
    answer = metadata(stub, ["signature_def", "blessing"])
    assert set(answer.metadata) == {"signature_def", "blessing"}
    record = struct_pb2.Struct()
    assert answer.metadata["blessing"].Unpack(record)
    assert json_format.MessageToDict(record) == servable.blessing
    assert set(metadata(stub, ["blessing"]).metadata) == {"blessing"}
    with pytest.raises(grpc.RpcError) as caught:
        metadata(stub, ["blessing", "other"])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "Metadata field other is not supported"
