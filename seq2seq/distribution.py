"""Which ``tf.distribute`` strategy trains the model (from config, ``TF_CONFIG`` and hardware),
and how its workers share what the chief alone decided."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from core.config_fields import ConfigError
from seq2seq.cluster import resolve_distribution, this_worker

# A process joins one cluster, once: TensorFlow cannot configure collective ops twice.
_MULTI_WORKER: list[tf.distribute.MultiWorkerMirroredStrategy] = []


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``auto``: several tasks in ``TF_CONFIG`` -> multi-worker; several GPUs -> mirrored;
    else one device (the GPU if there is one). Explicit names force a strategy.

    The multi-worker strategy must be made before TensorFlow initialises its runtime (listing
    logical devices or running any op does), so nothing else is looked at first; made once
    per process, later calls return the same strategy."""
    name = resolve_distribution(name)
    if name == "multi_worker":
        this_worker(name)  # a clear error for a missing or malformed TF_CONFIG
        if not _MULTI_WORKER:
            _MULTI_WORKER.append(tf.distribute.MultiWorkerMirroredStrategy())
        return _MULTI_WORKER[0]
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one_device"
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise ConfigError(
        f"train.distribution: invalid choice {name!r}; "
        "valid options: auto, one_device, mirrored, multi_worker"
    )


class ChiefValues:
    """Shares what the chief (global replica 0) alone decided with every worker."""

    def __init__(self, strategy: tf.distribute.Strategy) -> None:
        self.strategy = strategy
        self._shared = tf.function(self._sum, input_signature=[tf.TensorSpec([None], tf.float64)])

    def _sum(self, given: tf.Tensor) -> tf.Tensor:
        def contribution() -> tf.Tensor:
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            return tf.where(tf.equal(replica, 0), given, tf.zeros_like(given))

        per_replica = self.strategy.run(contribution)
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def __call__(self, values: Sequence[float]) -> list[float]:
        """``values`` as the chief passed them, on every worker. Every worker must call this
        at the same point of training (it is a collective all-reduce); the others pass
        placeholders of the same length, which are ignored."""
        if self.strategy.num_replicas_in_sync == 1:
            return [float(v) for v in values]
        shared = self._shared(tf.constant(list(values), tf.float64))
        return [float(v) for v in shared.numpy()]
