"""The server's life as tensorflow_model_server's: a batching file, a polled model config
and new version folders while clients call, and SIGTERM under load.

Servers bind 127.0.0.1 on free ports; waits poll with deadlines.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
import tensorflow as tf
from tensorflow_serving.apis import get_model_status_pb2, prediction_service_pb2_grpc

from tests.integration.tf_serving_clients import (
    DEADLINE_S,
    REPO,
    SENTENCES,
    Server,
    expect_error,
    free_port,
    models_config,
    predict_request,
    rest,
    wait_until,
)

# The slow tier (make test-all, CI): integration tests run servers, Dask clusters, real
# corpora or whole evaluations.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bases(tiny_run: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Model ``b``: version 1 of the tiny export."""
    root = tmp_path_factory.mktemp("models")
    shutil.copytree(tiny_run["export_base"] / "1", root / "b" / "1")
    return {"b": root / "b", "root": root}


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
            stop.wait(0.02)  # leave the CPU to the loading versions

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
    assert f"gRPC API at 127.0.0.1:{grpc_port}" in stderr  # loopback unless --host says
    assert f"REST API at http://127.0.0.1:{rest_port}" in stderr
    assert "finishing the requests in flight" in stderr and "Traceback" not in stderr
    assert failed == [] and answered > 40, (answered, refused, failed)
    counts = re.search(r"predict requests: (\d+) accepted, (\d+) answered", stderr)
    assert counts is not None, stderr[-2000:]
    # Every request the server took was answered, and every answer reached its client; the
    # others were refused before the server took them (UNAVAILABLE, CANCELLED, closed socket).
    waiting = 1  # the probe that found the model loaded
    assert int(counts[1]) == int(counts[2]) == answered + waiting, (counts[0], answered)


def _answers(stub: Any) -> bool:
    """Whether the model answers. Before it is loaded the server refuses the call at once
    (NOT_FOUND, never accepted); once it is, the call is accepted and given the whole
    deadline: a shorter one ran out on the model's first, slow call on a loaded machine, and
    the server counted that accepted request as unanswered (the client had gone)."""
    try:
        return bool(stub.Predict(predict_request("b", ["a"]), DEADLINE_S).outputs)
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
