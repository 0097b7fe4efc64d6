"""What each protocol costs by itself: gRPC against REST round trips to a model that echoes.

    python benchmarks/protocol_overhead.py [--requests 3000]

The server (``ServerCore`` with the same batcher as a real export, both APIs as
``serving.server`` runs them) answers from a stand-in servable that upper-cases
its text without TensorFlow work, in a child process; this process is the
client, as TF Serving's documentation writes one (gRPC) and a keep-alive
``http.client`` connection (REST), taking turns request by request. The p50
difference is what a protocol adds to every single-sentence request, whatever
the model.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from server_latency import summary
from server_protocols import grpc_call, rest_call


class EchoServable:
    """A servable that upper-cases texts: the protocol is the only work."""

    def __init__(self) -> None:
        import tensorflow as tf

        self.version = 1
        self.inputs = {"serving_default": {"text": tf.string}}
        self.defaults: dict[str, Any] = {}
        outputs = {"translations": {"dtype": "DT_STRING"}, "scores": {"dtype": "DT_FLOAT"}}
        self.signature_defs = {"serving_default": {"outputs": outputs}}

    def run(self, signature: str, options: Any, texts: list[str]) -> dict[str, list[Any]]:
        return {"translations": [t.upper() for t in texts], "scores": [-1.0 for _ in texts]}


def serve(ports: Any, stop: Any) -> None:
    """The child process: both APIs on free ports, until ``stop`` is set."""
    from serving.grpc_api import GrpcServer
    from serving.model_manager import ModelManager
    from serving.rest_api import Limits
    from serving.rest_app import RestServer, make_app
    from serving.rest_handler import RestHandler
    from serving.server import make_batcher
    from serving.server_config import BatchingSettings, ModelEntry
    from serving.server_core import ServerCore

    base = Path(tempfile.mkdtemp()) / "echo"
    (base / "1").mkdir(parents=True)
    (base / "1" / "saved_model.pb").write_bytes(b"")
    servable = EchoServable()
    manager = ModelManager([ModelEntry("echo", base)], 60.0, loader=lambda p, v: servable)
    core = ServerCore(manager, make_batcher(BatchingSettings(enabled=True)), Limits())
    grpc_server = GrpcServer(core, "127.0.0.1:0", 1 << 22)
    rest = RestServer(make_app(RestHandler(core), 1 << 22, None), "127.0.0.1", 0)
    ports.put((grpc_server.start(), rest.start()[1]))
    stop.wait()
    grpc_server.stop()
    rest.stop()


def main() -> int:
    """Interleaved round trips; prints p50/p99/mean per protocol as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    child = context.Process(target=serve, args=(ports, stop))
    child.start()
    grpc_port, rest_port = ports.get(timeout=120)
    calls = {"grpc": grpc_call(grpc_port, "echo"), "rest": rest_call(rest_port, "echo")}
    sentence = "A man in an orange hat starring at something ."
    for _ in range(200):
        for call in calls.values():
            call(sentence)
    times: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for i in range(args.requests):
        for name in names[i % 2 :] + names[: i % 2]:
            start = time.perf_counter()
            calls[name](sentence)
            times[name].append(time.perf_counter() - start)
    stop.set()
    child.join(60)
    results = {name: summary(values) for name, values in times.items()}
    results["load_1min"] = os.getloadavg()[0]  # type: ignore[assignment]
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
