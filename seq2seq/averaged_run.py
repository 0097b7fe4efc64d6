"""A run's last checkpoints averaged, and kept as its best model only where the average
translates the dev split better (higher BLEU) than the best model so far."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import tensorflow as tf

from core.contract import RunLayout
from seq2seq.checkpointing import model_checkpoint, restore
from seq2seq.config import ModelConfig
from seq2seq.dev_scores import DevText, TranslateFn, dev_bleu
from seq2seq.model import Seq2Seq
from seq2seq.run_models import build_model
from seq2seq.weight_average import average_checkpoints, last_checkpoints

log = logging.getLogger("seq2seq")


@dataclass(frozen=True)
class AverageResult:
    """What averaging found: the checkpoints averaged, both dev BLEUs and which was kept."""

    step: int
    checkpoints: int
    averaged_dev_bleu: float
    best_dev_bleu: float
    kept: str  # "averaged" or "best"


def average_last(
    model_config: ModelConfig,
    layout: RunLayout,
    count: int,
    translate_factory: Callable[[Seq2Seq], TranslateFn],
    dev_text: DevText,
    precision: str = "float32",
) -> AverageResult:
    """Average the last ``count`` training checkpoints of the run at ``layout`` into
    ``layout.averaged``; replace the best model with them if their dev BLEU is higher. The
    outcome is appended to the run's validation log. ``precision`` is the Keras dtype policy
    the dev translations run in (training's, so the two BLEUs compare like validation's)."""
    paths = last_checkpoints(str(layout.checkpoints), count)
    best = tf.train.latest_checkpoint(str(layout.best))
    if best is None:
        raise FileNotFoundError(f"{layout.best}: no trained model; run train first")
    model = build_model(model_config, layout, precision)
    translate = translate_factory(model)  # reads the model's variables at every call
    restore(model_checkpoint(model), best)
    best_bleu = dev_bleu(translate, dev_text)
    average_checkpoints(model, paths)
    averaged_bleu = dev_bleu(translate, dev_text)
    step = int(paths[-1].rsplit("-", 1)[-1])
    _save(model, layout.averaged, step)
    kept = "averaged" if averaged_bleu > best_bleu else "best"
    if kept == "averaged":
        _save(model, layout.best, step)
    result = AverageResult(step, len(paths), averaged_bleu, best_bleu, kept)
    entry = {"step": step, "average": "last", **asdict(result)}
    with layout.train_log.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
    log.info("average of the last %d checkpoints: %s", len(paths), json.dumps(entry))
    return result


def _save(model: Seq2Seq, directory: Path, step: int) -> None:
    """The model's weights as the only checkpoint in ``directory``, numbered ``step``."""
    manager = tf.train.CheckpointManager(model_checkpoint(model), str(directory), max_to_keep=1)
    manager.save(checkpoint_number=step)
