"""Clients and a started server for the TF Serving API tests: free ports, gRPC requests as
TF Serving's documentation builds them, REST calls, text-format model configs."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import tensorflow as tf
from tensorflow_serving.apis import (
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

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


def expect_error(call: Callable[[], Any], code: grpc.StatusCode, fragment: str) -> None:
    """``call`` fails with ``code`` and a one-line message holding ``fragment``."""
    import pytest

    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() == code, caught.value.details()
    assert fragment in caught.value.details() and "\n" not in caught.value.details()
