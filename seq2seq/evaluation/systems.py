"""The systems an evaluation can translate with: a run's checkpoint, an exported SavedModel
or a translator about to be exported, and the baselines it can compare them with."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import tensorflow as tf

from core.contract import (
    SHORTLIST,
    TRANSLATIONS,
    RunLayout,
    latest_version,
    resolve_model,
)
from core.length_sorted_batches import TranslateFn
from core.saved_model import exported_defaults, load_saved_model, translate_fn
from seq2seq.config import DecodeConfig
from seq2seq.evaluation.attention import AttentionReader
from seq2seq.evaluation.inputs import EvaluationError
from seq2seq.evaluation.run import System
from seq2seq.translator import Translator

SERVED = "served"  # the baseline that names the latest version of the experiment's export


def _default_search(translator: Translator) -> TranslateFn:
    """The translator's ``serving_default``: its decoding defaults, as its export answers."""

    def translate(batch: list[str]) -> list[str]:
        result = translator.translate(tf.constant(batch))
        return [t.decode("utf-8") for t in result[TRANSLATIONS].numpy()]

    return translate


def translator_system(translator: Translator, description: dict[str, Any]) -> System:
    """A translator about to be exported: its default search only, what the exported
    version's ``serving_default`` will answer."""
    return System(_default_search(translator), description)


def checkpoint_system(translator: Translator, layout: RunLayout, decode: DecodeConfig) -> System:
    """The run's best checkpoint through the in-graph translator, with attention heatmaps, and
    the same search over the whole vocabulary when the translator's default is a shortlist."""
    translate = _default_search(translator)
    full = None
    if translator.shortlist is not None and int(translator.default_shortlist.numpy()):
        options = [tf.constant(v.numpy()) for v in translator.default_options()][:-1]

        def full(batch: list[str]) -> list[str]:
            result = translator.translate_with_options(tf.constant(batch), *options, 0)
            return [t.decode("utf-8") for t in result[TRANSLATIONS].numpy()]

    reader = AttentionReader(translator, layout.source_spm, layout.target_spm)
    description = {
        "kind": "checkpoint",
        "path": str(layout.best.absolute()),
        "decode": dataclasses.asdict(decode),
    }
    return System(translate, description, reader.read, layout.train_log, full_vocabulary=full)


def resolve_saved_model(path: Path) -> Path:
    """``serving/models/NAME/VERSION`` as given, or the latest version under ``NAME``."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such model folder (expected serving/models/NAME)")
    return resolve_model(path)


def saved_model_system(path: Path) -> System:
    """An exported SavedModel's ``serving_default`` signature (its exported decode defaults),
    and the same search over the whole vocabulary when its default is a shortlist."""
    resolved = resolve_saved_model(path)
    description = {"kind": "saved_model", "path": str(resolved.absolute()), "decode": None}
    notes = [
        "No training curves or attention heatmaps: they need the run's checkpoint, "
        "not an exported SavedModel."
    ]
    loaded = load_saved_model(resolved)
    shortlisted = int(exported_defaults(loaded).get(SHORTLIST, 0))
    full = translate_fn(loaded, {SHORTLIST: 0}, resolved) if shortlisted else None
    return System(translate_fn(loaded), description, notes=notes, full_vocabulary=full)


def resolve_baseline(spec: str | Path, served: Path) -> Path:
    """The baseline ``spec`` names: ``served`` (the latest complete version under the
    experiment's export folder ``served``), an export or version folder (its SavedModel
    version folder), or a file of baseline hypotheses (as given)."""
    if str(spec) == SERVED:
        latest = latest_version(served)
        if latest is None:
            raise EvaluationError(f"baseline 'served': no version is served under {served}")
        return latest
    path = Path(spec)
    if path.is_dir():
        return resolve_saved_model(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: baseline not found (expected '{SERVED}', an export folder "
            "serving/models/NAME[/VERSION] or a file of baseline hypotheses)"
        )
    return path
