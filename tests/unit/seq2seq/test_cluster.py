"""This process's worker in TF_CONFIG, read without TensorFlow."""

from __future__ import annotations

import json

import pytest

from core.config_fields import ConfigError
from seq2seq.cluster import (
    Worker,
    cluster_size,
    global_batch,
    refuse_cluster,
    resolve_distribution,
    this_worker,
)
from seq2seq.config import TrainConfig

WORKERS = ["10.0.0.1:2222", "10.0.0.2:2222", "10.0.0.3:2222"]


def tf_config(monkeypatch: pytest.MonkeyPatch, cluster: dict[str, list[str]], task: object) -> None:
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))


def test_without_tf_config_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster_size() == 0
    assert resolve_distribution("auto") == "auto"
    assert this_worker("auto") == Worker(0, 1) and Worker().is_chief
    with pytest.raises(ConfigError, match="needs the TF_CONFIG variable"):
        this_worker("multi_worker")


def test_workers_numbered_from_the_chief(monkeypatch: pytest.MonkeyPatch) -> None:
    tf_config(
        monkeypatch, {"chief": ["10.0.0.9:2222"], "worker": WORKERS}, {"type": "worker", "index": 1}
    )
    assert resolve_distribution("auto") == "multi_worker"
    assert this_worker("auto") == Worker(2, 4) and not this_worker("auto").is_chief
    assert this_worker("one_device") == Worker()  # a forced single-process strategy
    tf_config(monkeypatch, {"chief": ["10.0.0.9:2222"], "worker": WORKERS}, {"type": "chief"})
    assert this_worker("multi_worker").is_chief
    tf_config(monkeypatch, {"worker": WORKERS}, {"type": "worker", "index": 0})
    assert this_worker("multi_worker") == Worker(0, 3)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "ps", "index": 0}}', "'task'"),
        (
            '{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}',
            "index 2",
        ),
        ('{"cluster": ["a:1", "b:1"]}', "'cluster' must map"),
    ],
)
def test_malformed_tf_config_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(ConfigError, match=message):
        this_worker("multi_worker")


def test_run_is_refused_on_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    tf_config(monkeypatch, {"worker": WORKERS}, {"type": "worker", "index": 0})
    with pytest.raises(ConfigError, match="nmt train` on every worker"):
        refuse_cluster("auto", "run")
    refuse_cluster("one_device", "run")


def test_global_batch_names_both_factors() -> None:
    text = global_batch(Worker(1, 2), 2, TrainConfig(batch_size=3000, batch_unit="tokens"))
    assert text.endswith("global batch = up to 3000 tokens per replica x 2 = up to 6000 tokens")
