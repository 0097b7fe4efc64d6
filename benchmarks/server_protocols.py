"""gRPC against REST on one server, and REST against the previous server, on loopback.

    python benchmarks/server_protocols.py --model serving/models/NAME \\
        --input ../shared/data/multi30k/test_2016_flickr.en [--baseline-tree DIR] [--json out]

1. Single-sentence latency, greedy (default signature): one gRPC client and one
   REST client (keep-alive) take turns sentence by sentence, so background load
   hits both alike; p50/p99 of each.
2. Load: ``--clients`` concurrent clients share ``--requests`` one-sentence
   requests per protocol (gRPC: one channel per client, as TF Serving's docs
   write clients; REST: one keep-alive connection per client); throughput,
   p50/p99 and errors. With ``--baseline-tree`` (a checkout of the previous
   server, the standard library's ``http.server``), its REST API runs the same
   load in the same run. The runs go A B C then C B A; both rounds are reported.

Both servers batch with the same settings (64 rows, 5 ms), the previous server's
defaults. Clients and servers share the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import grpc
import tensorflow as tf
from server_latency import summary
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

REPO = Path(__file__).resolve().parents[1]
BATCHING = "max_batch_size {{ value: 64 }}\nbatch_timeout_micros {{ value: {timeout} }}\n"


@contextmanager
def server(argv: list[str], cwd: Path, pattern: str) -> Iterator[list[int]]:
    """Run a server command; yield the ports its log names (``pattern`` groups)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(cwd)}
    process = subprocess.Popen(
        [sys.executable, "-m", "serving.server", *argv],
        cwd=cwd,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    ports: list[int] = []
    try:
        for line in process.stderr or []:
            ports += [int(p) for p in re.findall(pattern, line)]
            if "REST API at" in line or ("serving" in line and "at http://" in line):
                break
        if process.poll() is not None:
            raise SystemExit("the server did not start")
        threading.Thread(target=lambda: [None for _ in process.stderr or []], daemon=True).start()
        yield ports
    finally:
        process.terminate()
        process.wait(timeout=120)


def grpc_call(port: int, model: str, beam: int | None = None) -> Callable[[str], bool]:
    """A client as TF Serving's documentation writes one; returns one-sentence Predict
    (``beam``: ``translate_with_options`` with that beam size)."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def call(sentence: str) -> bool:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        request.model_spec.signature_name = "serving_default"
        if beam is not None:
            request.model_spec.signature_name = "translate_with_options"
            request.inputs["beam_size"].CopyFrom(tf.make_tensor_proto(beam))
        request.inputs["text"].CopyFrom(tf.make_tensor_proto([sentence]))
        result = stub.Predict(request, 120.0)
        return len(result.outputs["translations"].string_val) == 1

    return call


def rest_call(port: int, model: str, beam: int | None = None) -> Callable[[str], bool]:
    """One keep-alive connection; returns one-sentence REST predict."""
    holder = [http.client.HTTPConnection("127.0.0.1", port, timeout=120)]
    path = f"/v1/models/{model}:predict"

    def call(sentence: str) -> bool:
        body: dict[str, Any] = {"instances": [sentence]}
        if beam is not None:
            body = {
                "signature_name": "translate_with_options",
                "instances": [{"text": sentence, "beam_size": beam}],
            }
        try:
            holder[0].request("POST", path, body=json.dumps(body))
            response = holder[0].getresponse()
            return response.status == 200 and len(json.loads(response.read())["predictions"]) == 1
        except (OSError, http.client.HTTPException):
            holder[0] = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            raise

    return call


def load(
    make: Callable[[], Callable[[str], bool]], sentences: list[str], clients: int, requests: int
) -> dict[str, Any]:
    """``clients`` threads share ``requests`` requests (sentences round robin)."""
    tickets = iter(range(requests))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def client() -> None:
        call = make()
        while True:
            with lock:
                i = next(tickets, None)
            if i is None:
                return
            start = time.perf_counter()
            try:
                ok, why = call(sentences[i % len(sentences)]), "wrong answer"
            except Exception as err:  # counted: a load test reports every failure
                ok, why = False, f"{type(err).__name__}: {err}"[:200]
            with lock:
                latencies.append(time.perf_counter() - start)
                if not ok:
                    errors.append(why)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    return {
        "requests_per_s": requests / seconds,
        "errors": len(errors),
        "first_errors": errors[:3],
        **summary(latencies),
    }


def latency(calls: dict[str, Callable[[str], bool]], sentences: list[str]) -> dict[str, Any]:
    """Single-sentence latency, the protocols taking turns (order rotating)."""
    names = list(calls)
    for sentence in sentences[:10]:
        for call in calls.values():
            call(sentence)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, sentence in enumerate(sentences):
        for name in names[i % 2 :] + names[: i % 2]:
            start = time.perf_counter()
            calls[name](sentence)
            times[name].append(time.perf_counter() - start)
    return {name: summary(values) for name, values in times.items()}


def main() -> int:
    """Latency, then the load rounds; prints JSON (and writes it with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="serving/models/NAME")
    parser.add_argument("--input", type=Path, required=True, help="one sentence per line")
    parser.add_argument("--limit", type=int, default=500, help="sentences for the latency run")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=5000, help="per protocol and round")
    parser.add_argument("--baseline-tree", type=Path, help="checkout of the previous server")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--latency-only", action="store_true", help="skip the load rounds")
    parser.add_argument("--beam", type=int, help="latency of translate_with_options at this beam")
    parser.add_argument("--batch-timeout-us", type=int, default=5000, help="batching window")
    args = parser.parse_args()
    sentences = args.input.read_text(encoding="utf-8").splitlines()
    model = args.model.resolve().name
    results: dict[str, Any] = {"load_1min": [os.getloadavg()[0]], "rounds": []}
    with tempfile.TemporaryDirectory() as tmp:
        batching = Path(tmp) / "batching.config"
        batching.write_text(BATCHING.format(timeout=args.batch_timeout_us))
        argv = [
            "--port=0",
            "--rest_api_port=0",
            f"--model_base_path={args.model.resolve()}",
            "--enable_batching",
            f"--batching_parameters_file={batching}",
        ]
        argv[1] = f"--rest_api_port={_free_port()}"
        with server(argv, REPO, r"(?:gRPC API at [\d.]+:|http://[\d.]+:)(\d+)") as ports:
            calls = {
                "grpc": grpc_call(ports[0], model, args.beam),
                "rest": rest_call(ports[1], model, args.beam),
            }
            results["latency"] = latency(calls, sentences[: args.limit])
            runs = {
                "grpc": lambda: load(
                    lambda: grpc_call(ports[0], model), sentences, args.clients, args.requests
                ),
                "rest": lambda: load(
                    lambda: rest_call(ports[1], model), sentences, args.clients, args.requests
                ),
            }
            if not args.latency_only:
                results["rounds"] = _rounds(runs, args)
    results["load_1min"].append(os.getloadavg()[0])
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


def _rounds(runs: dict[str, Callable[[], dict[str, Any]]], args: argparse.Namespace) -> list[Any]:
    """Two rounds of the load runs (A B C, then C B A); C is the previous server's REST."""
    if args.baseline_tree is not None:
        model = args.model.resolve().name
        sentences = args.input.read_text(encoding="utf-8").splitlines()

        def previous() -> dict[str, Any]:
            argv = [f"--model_base_path={args.model.resolve()}", "--port=0"]
            with server(argv, args.baseline_tree.resolve(), r"http://[\d.]+:(\d+)") as old:
                load(lambda: rest_call(old[0], model), sentences, args.clients, 200)  # warm-up
                return load(
                    lambda: rest_call(old[0], model), sentences, args.clients, args.requests
                )

        runs = {**runs, "rest_previous": previous}
    order = list(runs)
    return [{name: runs[name]() for name in names} for names in (order, order[::-1])]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
