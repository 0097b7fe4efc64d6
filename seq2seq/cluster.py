"""Which worker of a training cluster this process is, read from ``TF_CONFIG`` alone.

Read without importing TensorFlow, so that the command line knows before anything starts
whether it may lock and write the run folder: only the chief does. ``TF_CONFIG`` is the JSON
that ``tf.distribute.MultiWorkerMirroredStrategy`` reads, for example
``{"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker", "index": 0}}``.
The chief is the task of type ``chief`` if the cluster has one, else worker 0.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import cast

from core.config_fields import ConfigError
from seq2seq.config import TrainConfig

TRAINING_TASKS = ("chief", "worker")


class WorkerLostError(RuntimeError):
    """Another worker of the training cluster died or cannot be reached; the message says
    how to resume."""


@dataclass(frozen=True)
class Worker:
    """This process's place among the training workers: ``index`` in ``[0, count)``, chief 0."""

    index: int = 0
    count: int = 1

    @property
    def is_chief(self) -> bool:
        return self.index == 0


def _tf_config() -> dict[str, object]:
    text = os.environ.get("TF_CONFIG", "")
    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as err:
        raise ConfigError(f"TF_CONFIG is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise ConfigError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    return value


def cluster_size() -> int:
    """How many training tasks (chief and workers) ``TF_CONFIG`` names; 0 without it."""
    cluster = _tf_config().get("cluster", {})
    if not isinstance(cluster, dict):
        raise ConfigError("TF_CONFIG 'cluster' must map task types to address lists")
    return sum(len(cluster.get(kind) or []) for kind in TRAINING_TASKS)


def resolve_distribution(name: str) -> str:
    """``train.distribution`` with ``auto`` resolved as far as ``TF_CONFIG`` decides it:
    ``multi_worker`` for a cluster of several tasks, else ``auto`` (devices decide)."""
    if name == "auto" and cluster_size() > 1:
        return "multi_worker"
    return name


def this_worker(distribution: str) -> Worker:
    """This process's ``Worker`` when training with ``distribution`` (``train.distribution``);
    one worker unless that resolves to ``multi_worker``."""
    if resolve_distribution(distribution) != "multi_worker":
        return Worker()
    config = _tf_config()
    if "TF_CONFIG" not in os.environ or not config.get("cluster"):
        raise ConfigError("train.distribution 'multi_worker' needs the TF_CONFIG variable")
    count = cluster_size()  # also checks that the cluster is a mapping
    cluster = cast(dict[str, list[str]], config["cluster"])
    task = config.get("task", {})
    if not isinstance(task, dict) or task.get("type") not in TRAINING_TASKS:
        raise ConfigError('TF_CONFIG \'task\' must be {"type": "chief" or "worker", "index": N}')
    index = task.get("index", 0)
    has_chief = bool(cluster.get("chief"))
    if not isinstance(index, int) or index < 0 or index >= len(cluster.get(task["type"]) or []):
        raise ConfigError(f"TF_CONFIG task index {index!r} is not in the cluster's list")
    position = 0 if task["type"] == "chief" else index + int(has_chief)
    return Worker(position, count)


def refuse_cluster(distribution: str, command: str) -> None:
    """Raise ``ConfigError`` if ``command`` (which does more than train) was started as a
    task of a multi-worker cluster: there, only ``nmt train`` runs on every worker."""
    if resolve_distribution(distribution) == "multi_worker":
        raise ConfigError(
            f"nmt {command} does not run on a multi-worker cluster (TF_CONFIG names several "
            "tasks): run `nmt preprocess` once, `nmt train` on every worker, then `nmt "
            "evaluate` and `nmt export` once"
        )


def global_batch(worker: Worker, replicas: int, config: TrainConfig) -> str:
    """What one update trains on, for the log: every replica (GPU, or CPU of a worker) takes
    a batch of ``train.batch_size`` of its own, so the global batch is that many times it."""
    unit, size = config.batch_unit, config.batch_size
    bound = "up to " if unit == "tokens" else ""
    return (
        f"worker {worker.index} of {worker.count}, {replicas} replica(s) in all: global batch "
        f"= {bound}{size} {unit} per replica x {replicas} = {bound}{size * replicas} {unit}"
    )
