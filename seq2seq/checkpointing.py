"""Checkpoints that hold every variable of a Keras 3 model and optimizer.

TensorFlow's object-graph checkpoints do not follow Keras 3's lists of
sub-layers (stacked cells, for example), so a plain ``Checkpoint(model=...)``
silently leaves their weights out. Here every variable is tracked explicitly,
keyed by its unique Keras path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import tensorflow as tf


def is_rng_state(variable: Any) -> bool:
    """Whether ``variable`` is the state of a Keras seed generator (dropout randomness)."""
    return "seed_generator" in variable.path


def variables_by_path(variables: Iterable[Any], drop_root: bool = False) -> dict[str, Any]:
    """``{path: variable}`` with checkpoint-safe keys; fails on duplicate paths.

    ``drop_root`` leaves out the first path component (the model's own name),
    so that a checkpoint restores into any instance of the same architecture.
    """
    table: dict[str, Any] = {}
    seen: set[int] = set()
    for variable in variables:
        # Dropout RNG states carry process-global names; training reseeds them every step.
        if is_rng_state(variable) or id(variable) in seen:
            continue
        seen.add(id(variable))
        path = variable.path.split("/", 1)[-1] if drop_root else variable.path
        key = path.replace("/", ".")
        if key in table:
            raise ValueError(f"two variables share the path {variable.path!r}")
        table[key] = variable
    return table


def model_checkpoint(
    model: keras.Model, optimizer: keras.optimizers.Optimizer | None = None, **extra: Any
) -> tf.train.Checkpoint:
    """A checkpoint of all model weights, optionally the optimizer's, and ``extra`` trackables."""
    parts: dict[str, Any] = {"model_variables": variables_by_path(model.variables, True)}
    if optimizer is not None:
        parts["optimizer_variables"] = variables_by_path(optimizer.variables)
    return tf.train.Checkpoint(**parts, **extra)


def restore(checkpoint: tf.train.Checkpoint, path: str) -> None:
    """Restore ``path`` into ``checkpoint``; every variable must be found in the file (values
    the file has beyond them, such as its save counter, are left unread on purpose)."""
    checkpoint.read(path).assert_existing_objects_matched().expect_partial()
