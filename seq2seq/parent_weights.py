"""A fine-tuned run's start: its parent's weights, and what it keeps of the parent's training.

A parent is a run's checkpoint folder or an export's version folder. Training checkpoints
(``seq2seq.checkpointing``) key every model variable by its Keras path, so each of a fresh
model's variables is read under its own path. A SavedModel keeps the translator's list
``model_variables`` (``seq2seq.translator``): the model's variables in build order, each
named by its layer's short name; the fresh model's variables are matched with it by position,
dropout's seed states left out on both sides, and each pair must agree in name. Every shape
must agree too, so nothing is read into a model it does not fit. An export in a lower precision
(``decode.precision``) gives its weights cast up to the training model's float32.

Besides the weights, a run's ``checkpoints`` folder can give (``train.init_keep``) the step
count, Adam's moments, the plateau decay's state and the best dev score; everything else (the
epoch and position in it, patience, early stopping, the EMA) starts fresh.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from core.config_fields import ConfigError
from core.contract import VARIABLES_PREFIX
from seq2seq.checkpointing import is_rng_state, variables_by_path
from seq2seq.resume import TrainingState

_VALUE = ".ATTRIBUTES/VARIABLE_VALUE"
_OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"
# The state's variables each ``train.init_keep`` part names (the step is the optimizer's).
_STATE_PARTS = {
    "schedule": ("lr_scale", "plateau_count"),
    "best_score": ("best_score", "best_dev_loss"),
}


class ParentWeightsError(ConfigError):
    """A parent whose weights do not fit the model (one line naming both sides)."""


@dataclass(frozen=True)
class ParentWeights:
    """Where a run's first weights come from: a checkpoint ``folder`` of a run (its newest
    checkpoint), or with ``exported`` an export's version folder; ``keep``: the parts of the
    training state taken too (``seq2seq.config.INIT_KEEP``); ``record``: what the run's
    ``parent.json`` says of the parent."""

    folder: Path
    exported: bool = False
    keep: tuple[str, ...] = ()
    record: Mapping[str, Any] = field(default_factory=dict)


def _key(*names: str) -> str:
    """A checkpoint key, escaped as TensorFlow's object-graph checkpoints escape names."""
    escaped = (name.replace(".", "..").replace("/", "./") for name in names)
    return "/".join((*escaped, _VALUE))


def _checkpoint_prefix(parent: ParentWeights) -> str:
    if parent.exported:
        return str(parent.folder / VARIABLES_PREFIX)
    prefix = tf.train.latest_checkpoint(str(parent.folder))
    if prefix is None:
        raise ParentWeightsError(f"parent {parent.folder}: no trained model")
    return str(prefix)


def _exported_names(reader: tf.train.CheckpointReader) -> list[tuple[str, str]]:
    """``(checkpoint key, short name)`` of the export's model variables, in build order,
    seed states left out."""
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor(_OBJECT_GRAPH))
    names = {a.checkpoint_key: a.full_name for node in graph.nodes for a in node.attributes}
    found = []
    index = 0
    while (key := _key("model_variables", str(index))) in names:
        if "seed_generator" not in names[key]:
            found.append((key, names[key].rsplit("/", 1)[-1]))
        index += 1
    return found


def _model_targets(
    model: keras.Model, reader: tf.train.CheckpointReader, parent: ParentWeights
) -> dict[str, Any]:
    """``{checkpoint key: variable}`` of every model weight."""
    if not parent.exported:
        table = variables_by_path(model.variables, drop_root=True)
        return {_key("model_variables", path): v for path, v in table.items()}
    ours = [v for v in model.variables if not is_rng_state(v)]
    theirs = _exported_names(reader)
    if len(ours) != len(theirs):
        raise ParentWeightsError(
            f"parent {parent.folder}: {len(theirs)} model variables, the model built from "
            f"this experiment's config has {len(ours)}"
        )
    for (key, name), variable in zip(theirs, ours, strict=True):
        if name != variable.name:
            raise ParentWeightsError(
                f"parent {parent.folder}: variable {key} is {name!r} where the model built "
                f"from this experiment's config has {variable.path!r}"
            )
    return {key: v for (key, _), v in zip(theirs, ours, strict=True)}


def _kept_targets(
    keep: tuple[str, ...], optimizer: keras.optimizers.Optimizer, state: TrainingState
) -> dict[str, Any]:
    """``{checkpoint key: variable}`` of the kept parts of the training state."""
    targets: dict[str, Any] = {}
    for path, variable in variables_by_path(optimizer.variables).items():
        part = "step" if variable is optimizer.iterations else "optimizer"
        if part in keep:
            targets[_key("optimizer_variables", path)] = variable
    for part, names in _STATE_PARTS.items():
        if part in keep:
            targets |= {_key("state", name): getattr(state, name) for name in names}
    return targets


def _check_shapes(
    targets: Mapping[str, Any], reader: tf.train.CheckpointReader, prefix: str
) -> None:
    shapes = reader.get_variable_to_shape_map()
    for key, variable in targets.items():
        if key not in shapes:
            raise ParentWeightsError(f"parent {prefix}: has no {key}")
        if list(shapes[key]) != list(variable.shape):
            raise ParentWeightsError(
                f"parent {prefix}: {key} has shape {shapes[key]}, the model built from this "
                f"experiment's config {list(variable.shape)} for {variable.path}"
            )


def load_parent(
    parent: ParentWeights,
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    state: TrainingState,
) -> dict[str, Any]:
    """Set ``model``'s weights (and the kept parts of ``optimizer`` and ``state``) to the
    parent's. Raises ``ParentWeightsError`` if any is missing or of another shape, before
    setting any. Returns the record of the start, for ``parent.json``."""
    prefix = _checkpoint_prefix(parent)
    reader = tf.train.load_checkpoint(prefix)
    targets = _model_targets(model, reader, parent)
    targets |= _kept_targets(parent.keep, optimizer, state)
    _check_shapes(targets, reader, prefix)
    for key, variable in targets.items():
        value = np.asarray(reader.get_tensor(key))
        variable.assign(tf.cast(value, variable.dtype))
    return {**parent.record, "checkpoint": os.path.abspath(prefix), "kept": list(parent.keep)}


def write_record(path: Path, record: Mapping[str, Any]) -> None:
    """Write the parent ``record`` to ``path`` (``parent.json``), whole or not at all."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
