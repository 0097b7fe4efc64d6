"""The export gate beside a running server: a regressed candidate is refused (its own exit
status, one line, nothing written under the export folder) while the served version keeps
answering every request; ``--force`` pushes it and says so in its blessing record; a better
candidate, fine-tuned from the served version, is pushed and picked up. Every pushed version's
blessing record, with the lineage of a fine-tuned one, is in its export and in the server's
model metadata (REST and gRPC).

The tiny models score about 0 BLEU against the real references, too close to tell apart. So
here the test split is the first test sentences with the tiny model's own translations as
references: the tiny run (12 steps; version 1 is its export) scores 100, and the same run
rewound to its step-5 checkpoint, a candidate trained for a few steps, scores far below.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
import tensorflow as tf
import yaml
from google.protobuf import json_format, struct_pb2
from tensorflow_serving.apis import get_model_metadata_pb2

from core.contract import ASSETS_EXTRA_DIR, BLESSING_ASSET, RunLayout
from nmt import cli
from nmt.config import load_config
from seq2seq.checkpointing import model_checkpoint, restore
from seq2seq.run_models import build_model
from tests.integration.tf_serving_clients import (
    DEADLINE_S,
    Server,
    free_port,
    predict_request,
    rest,
    wait_until,
)

# The slow tier (make test-all, CI): integration tests run servers, Dask clusters, real
# corpora or whole evaluations.
pytestmark = pytest.mark.slow

LINES = 12  # test sentences the gate scores


def _candidate(tiny_run: dict[str, Path], root: Path, models: Path, step: int | None) -> Path:
    """A copy of the tiny run exporting to ``models``, its test split cut to ``LINES``
    sentences with the tiny model's translations as references; with ``step``, its best model
    is the training checkpoint of that step. Returns its config file."""
    run = root / "runs" / "tiny"
    shutil.copytree(
        tiny_run["run_dir"], run, ignore=shutil.ignore_patterns(".lock", "eval", "tensorboard")
    )
    layout = RunLayout(run)
    sources = layout.split_text("test", "en").read_text(encoding="utf-8").splitlines()
    own = (tiny_run["run_dir"] / "eval" / "hypotheses.txt").read_text(encoding="utf-8")
    layout.split_text("test", "en").write_text("\n".join(sources[:LINES]) + "\n", encoding="utf-8")
    references = "\n".join(own.splitlines()[:LINES]) + "\n"
    layout.split_text("test", "es").write_text(references, encoding="utf-8")
    raw = yaml.safe_load(layout.config_copy.read_text(encoding="utf-8"))
    raw["run_root"], raw["export"]["base_dir"] = str(root / "runs"), str(models)
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    if step is not None:
        model = build_model(load_config(config).model, layout)
        restore(model_checkpoint(model), str(layout.checkpoints / f"ckpt-{step}"))
        shutil.rmtree(layout.best)
        manager = tf.train.CheckpointManager(model_checkpoint(model), str(layout.best), 1)
        manager.save(checkpoint_number=step)
    return config


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _blessing(version: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((version / ASSETS_EXTRA_DIR / BLESSING_ASSET).read_text())
    return record


def _grpc_blessing(server: Server) -> tuple[int, dict[str, Any]]:
    """The served version and its blessing record, from gRPC GetModelMetadata."""
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "tiny"
    request.metadata_field.append("blessing")
    answer = server.stub.GetModelMetadata(request, 60)
    record = struct_pb2.Struct()
    assert answer.metadata["blessing"].Unpack(record)
    return answer.model_spec.version.value, json_format.MessageToDict(record)


class Clients:
    """Requests that name no version, one after another until ``stop``: every answer's
    version, and every failure."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.versions: list[int] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                answer = self.server.stub.Predict(predict_request("tiny", ["the cat ."]), 60)
                self.versions.append(answer.model_spec.version.value)
            except grpc.RpcError as err:
                self.errors.append(f"{err.code()}: {err.details()}")
            self.stop.wait(0.1)  # leave the CPU to the export

    def close(self) -> None:
        self.stop.set()
        self.thread.join(DEADLINE_S)


def test_gate_refuses_a_regression_while_the_server_serves(
    tiny_run: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A served version, then three candidates through ``nmt export`` beside the running server.

    About a minute with another test beside it: each of the three exports scores
    the candidate and the served version, and the server picks up two new versions; the
    refusal is only meaningful while the server is serving, so it is one test."""
    models = tmp_path / "models"
    shutil.copytree(tiny_run["export_base"], models / "tiny")  # version 1 (and the lock file)
    base = models / "tiny"
    first = _blessing(base / "1")  # nothing was served, no minimum BLEU: nothing scored
    assert (first["decision"], first["candidate"], first["baseline"]) == ("blessed", None, None)
    good = _candidate(tiny_run, tmp_path / "good", models, None)
    lineage = {  # as training records a start from the served version
        "init_from": str(base),
        "kind": "export",
        "path": str(base / "1"),
        "experiment": "tiny",
        "source_lang": "en",
        "target_lang": "es",
        "version": 1,
    }
    RunLayout(tmp_path / "good" / "runs" / "tiny").parent.write_text(json.dumps(lineage))
    weak = _candidate(tiny_run, tmp_path / "weak", models, 5)
    server = Server(
        [
            f"--port={free_port()}",
            f"--rest_api_port={free_port()}",
            "--model_name=tiny",
            f"--model_base_path={base}",
            "--file_system_poll_wait_seconds=0.05",
        ]
    )
    clients = Clients(server)
    try:
        wait_until(lambda: 1 in clients.versions, "version 1 to answer")
        before = _files(models)
        capsys.readouterr()
        assert cli.main(["export", str(weak)]) == cli.EXIT_GATE_REFUSED
        lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("nmt:")]
        report = tmp_path / "weak" / "runs" / "tiny" / "eval" / "gate" / "report.md"
        assert len(lines) == 1 and lines[0].startswith("nmt: refused by the export gate: ")
        for part in ("candidate BLEU ", "served version 1 BLEU 100.00", "p = 0.", str(report)):
            assert part in lines[0], lines[0]
        assert _files(models) == before  # nothing written: no version, no staging folder
        refused = set(clients.versions)

        assert cli.main(["export", str(weak), "--force"]) == 0
        forced = _blessing(base / "2")
        assert (forced["decision"], forced["forced"]) == ("refused", True)
        assert forced["baseline"]["version"] == 1 and forced["p_value"] < 0.05
        assert forced["baseline"]["bleu"] == pytest.approx(100.0)
        assert forced["candidate"]["bleu"] < forced["baseline"]["bleu"] - 1.0
        wait_until(lambda: clients.versions[-1:] == [2], "the forced version 2 to answer")

        assert cli.main(["export", str(good)]) == 0
        blessed = _blessing(base / "3")
        assert (blessed["decision"], blessed["forced"], blessed["reasons"]) == (
            "blessed",
            False,
            [],
        )
        assert blessed["baseline"]["version"] == 2 and blessed["parent"] == lineage
        assert "parent" not in forced  # a run from random weights has no lineage
        assert blessed["candidate"]["bleu"] == pytest.approx(100.0)
        assert blessed["delta"] > 0 and blessed["test_set"]["sentences"] == LINES
        assert blessed["signature"].startswith("nrefs:1|") and blessed["report"]
        wait_until(lambda: clients.versions[-1:] == [3], "the blessed version 3 to answer")
        status, metadata = rest(f"{server.rest}/tiny/metadata")
        assert status == 200 and metadata["model_spec"]["version"] == "3"
        assert metadata["metadata"]["blessing"] == blessed
        assert _grpc_blessing(server) == (3, blessed)
    finally:
        clients.close()
        server.close()
    assert clients.errors == []
    assert refused == {1}  # while the refused candidate was scored, version 1 answered
