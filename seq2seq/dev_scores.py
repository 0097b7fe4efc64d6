"""Dev-split scores during training: loss over dev TFRecords, BLEU of greedy translations, and
where each validation is recorded (the run's validation log, TensorBoard, the log)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf
from sacrebleu.metrics import BLEU

from core.length_sorted_batches import TranslateFn, translate_chunk
from seq2seq.config import TrainConfig
from seq2seq.data import make_dataset, split_files

log = logging.getLogger("seq2seq")


@dataclass(frozen=True)
class DevText:
    """The dev split as text: source and reference files, line-aligned."""

    source: Path
    reference: Path
    tokenize: str | None = None  # sacrebleu's BLEU tokenizer (None: 13a)

    def read(self) -> tuple[list[str], list[str]]:
        """Source and reference lines."""
        sources = self.source.read_text(encoding="utf-8").splitlines()
        references = self.reference.read_text(encoding="utf-8").splitlines()
        if len(sources) != len(references):
            raise ValueError(
                f"{self.source} has {len(sources)} lines but {self.reference} has {len(references)}"
            )
        return sources, references


def dev_batches(data_dir: Path, config: TrainConfig) -> tf.data.Dataset:
    """The dev split's batches for ``dev_loss``, in order."""
    # Dev batches as large as training's, not larger: with 128 sentences a batch of the
    # longest bucket held up to 10,240 tokens and set the process's peak memory.
    return make_dataset(
        split_files(data_dir, "dev"),
        config.batch_size,
        config.max_length,
        batch_unit=config.batch_unit,
    )


def dev_loss(
    loss_fn: Callable[..., tuple[tf.Tensor, tf.Tensor]], batches: tf.data.Dataset
) -> float:
    """Mean per-token loss of ``loss_fn(inputs, target_out) -> (sum, tokens)`` over batches."""
    total, tokens = 0.0, 0.0
    for inputs, target_out in batches:
        batch_total, batch_tokens = loss_fn(inputs, target_out)
        total += float(batch_total)
        tokens += float(batch_tokens)
    return total / max(tokens, 1.0)


def dev_bleu(translate: TranslateFn, text: DevText, batch_size: int = 128) -> float:
    """Corpus BLEU of ``translate`` on the dev text, with the dev text's tokenizer.

    sacrebleu's warning that references look tokenized is left to the evaluation stage:
    repeated at every validation it would tell the user nothing new.
    """
    sources, references = text.read()
    hypotheses = translate_chunk(translate, sources, batch_size)
    bleu = BLEU(tokenize=text.tokenize, force=True)
    return float(bleu.corpus_score(hypotheses, [references]).score)


def validation_score(loss: float, bleu: float | None) -> float:
    """What validation maximises: BLEU if measured, else minus the dev loss."""
    return bleu if bleu is not None else -loss


def ema_fields(averaged: tuple[float, float | None], kept: bool) -> dict[str, Any]:
    """A validation log entry's fields of the EMA: its dev loss and BLEU, and which weights
    validation kept (``ema`` or ``weights``)."""
    loss, bleu = averaged
    entry: dict[str, Any] = {"ema_dev_loss": loss, "kept": "ema" if kept else "weights"}
    if bleu is not None:
        entry["ema_dev_bleu"] = bleu
    return entry


def write_validation(
    entry: dict[str, Any], train_log: Path, writer: tf.summary.SummaryWriter | None
) -> None:
    """Append ``entry`` (with ``step``, ``dev_loss``, maybe ``dev_bleu``) to ``train_log`` (JSON
    lines), write its dev scores to TensorBoard with ``writer``, and log it."""
    with train_log.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
    if writer is not None:
        with writer.as_default(step=entry["step"]):
            for key in ("dev_loss", "dev_bleu", "ema_dev_loss", "ema_dev_bleu"):
                if key in entry:
                    tf.summary.scalar(f"dev/{key.replace('dev_', '')}", entry[key])
    log.info("validation %s", json.dumps(entry))
