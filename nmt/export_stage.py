"""The export stage: the run's best model, or an ensemble of it with other runs' best models,
as the next SavedModel version under ``serving/models/<experiment>/``, if the export gate
(``nmt.serving_gate``) lets it through; the version carries the gate's blessing record.

An ensemble's members are the config's own run and every listed run folder (the same run
may be listed again); each member is built from its own run's ``config.yaml`` (so
architectures may differ) and restored from its best checkpoint, and all must share the
config's run's SentencePiece models byte for byte (``seq2seq.ensemble``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from core.config_fields import ConfigError
from core.contract import (
    BLESSING_ASSET,
    CONFIG_ASSET,
    SOURCE_MODEL_ASSET,
    TARGET_MODEL_ASSET,
    RunLayout,
)
from nmt.config import ExperimentConfig, load_config
from nmt.serving_gate import bless
from nmt.translator_setup import make_translator
from seq2seq.config import ModelConfig
from seq2seq.ensemble import ensemble
from seq2seq.export import export_translator
from seq2seq.model import Seq2Seq
from seq2seq.run_models import restore_best

log = logging.getLogger("seq2seq")
_STEP = re.compile(r"-(\d+)$")  # best checkpoints are numbered by their training step


class EnsembleError(ConfigError):
    """A run folder that cannot join the ensemble (not a run, or other vocabularies)."""


@dataclass(frozen=True)
class Member:
    """One model of an ensemble: its run folder, architecture and best checkpoint."""

    run_dir: Path
    experiment: str
    model: ModelConfig
    checkpoint: str
    step: int | None

    def metadata(self) -> dict[str, Any]:
        """The member as ``metadata.json`` lists it."""
        return {
            "run_dir": str(self.run_dir.absolute()),
            "experiment": self.experiment,
            "checkpoint": str(Path(self.checkpoint).absolute()),
            "step": self.step,
        }


def _member(run_dir: Path, experiment: str, model: ModelConfig) -> Member:
    """``run_dir``'s best checkpoint; raises ``FileNotFoundError`` if it has none."""
    best = RunLayout(run_dir).best
    checkpoint = tf.train.latest_checkpoint(str(best))
    if checkpoint is None:
        raise FileNotFoundError(f"{best}: no trained model; run train first")
    found = _STEP.search(checkpoint)
    return Member(run_dir, experiment, model, checkpoint, int(found.group(1)) if found else None)


def _check_vocabularies(run_dir: Path, reference: RunLayout) -> None:
    """Raise ``EnsembleError`` unless ``run_dir`` has ``reference``'s SentencePiece models."""
    layout = RunLayout(run_dir)
    for side, theirs, ours in (
        ("target", layout.target_spm, reference.target_spm),
        ("source", layout.source_spm, reference.source_spm),
    ):
        if not theirs.is_file():
            raise EnsembleError(f"{run_dir}: no {side} SentencePiece model ({theirs})")
        if theirs.read_bytes() != ours.read_bytes():
            raise EnsembleError(
                f"{run_dir}: its {side} SentencePiece model differs from {reference.root}'s "
                f"({theirs}); ensemble members must share the config's run's vocabularies"
            )


def ensemble_members(config: ExperimentConfig, run_dirs: Sequence[Path]) -> list[Member]:
    """The config's run, then each of ``run_dirs``, as members; raises ``EnsembleError`` for a
    folder that is not a run or has other vocabularies, ``FileNotFoundError`` for one without a
    best checkpoint, ``ConfigError`` for an unreadable ``config.yaml``."""
    own = RunLayout(config.run_dir)
    members = [_member(config.run_dir, config.experiment, config.model)]
    for run_dir in run_dirs:
        copy = RunLayout(run_dir).config_copy
        if not copy.is_file():
            raise EnsembleError(f"{run_dir}: not a run folder (no {copy.name})")
        _check_vocabularies(run_dir, own)
        member_config = load_config(copy)
        members.append(_member(run_dir, member_config.experiment, member_config.model))
    return members


def restore_members(members: Sequence[Member], precision: str) -> list[Seq2Seq]:
    """Each member's best model in ``precision``; a run listed twice is restored once and
    its model shared."""
    restored: dict[Path, Seq2Seq] = {}
    models = []
    for member in members:
        key = member.run_dir.resolve()
        if key not in restored:
            restored[key] = restore_best(member.model, RunLayout(member.run_dir), precision)
        models.append(restored[key])
    return models


def export_run(
    config: ExperimentConfig,
    layout: RunLayout,
    run_dirs: Sequence[Path] = (),
    force: bool = False,
) -> Path:
    """Export the run's best model, or with ``run_dirs`` its ensemble with theirs, if the
    export gate blesses it (or ``force``); raises ``GateRefused`` before anything is written
    under the export folder otherwise."""
    members = ensemble_members(config, run_dirs)
    models = restore_members(members, config.decode.precision)
    assets = {
        CONFIG_ASSET: layout.config_copy,
        SOURCE_MODEL_ASSET: layout.source_spm,
        TARGET_MODEL_ASSET: layout.target_spm,
    }
    metadata: dict[str, Any] = {
        "experiment": config.experiment,
        "source_lang": config.data.source_lang,
        "target_lang": config.data.target_lang,
    }
    if run_dirs:
        metadata["members"] = [member.metadata() for member in members]
    if layout.parent.is_file():  # the run started from a parent: its lineage
        metadata["parent"] = json.loads(layout.parent.read_text(encoding="utf-8"))
    translator = make_translator(config, ensemble(models))
    blessing = bless(config, translator, force)
    if "parent" in metadata:  # shown by the server's model metadata with the blessing
        blessing["parent"] = metadata["parent"]
    path = export_translator(
        translator, config.export_dir, assets, metadata, {BLESSING_ASSET: blessing}
    )
    log.info("exported %s (%d model%s)", path, len(models), "" if len(models) == 1 else "s")
    return path
