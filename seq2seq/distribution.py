"""Which ``tf.distribute`` strategy trains the model: from config and hardware."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from core.config_fields import ConfigError


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``auto``: several workers in ``TF_CONFIG`` -> multi-worker; several GPUs -> mirrored;
    else one device (the GPU if there is one). Explicit names force a strategy."""
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
        if sum(len(v) for v in cluster.values()) > 1:
            name = "multi_worker"
        else:
            name = "mirrored" if len(gpus) > 1 else "one_device"
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("train.distribution 'multi_worker' needs the TF_CONFIG variable")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(
        f"train.distribution: invalid choice {name!r}; "
        "valid options: auto, one_device, mirrored, multi_worker"
    )
