"""The parent a run starts from (``train.init_from``): which folder it names, and whether this
experiment can start from it.

A parent is a run folder (its best model), one of a run's checkpoint folders (``best``,
``averaged``, or ``checkpoints``: the newest training checkpoint, the only kind that also holds
the optimizer's state, the step and the validation counters), an export version folder
``serving/models/NAME/VERSION``, or an experiment's export folder ``serving/models/NAME`` (its
newest version). Each holds the parent's config (the run's ``config.yaml``, the export's
``assets.extra/config.yaml``) and SentencePiece models (``data/sentencepiece/`` or
``assets.extra/``).

Everything here is pure Python and reads only small files, so that ``nmt`` checks a parent
before it imports TensorFlow, locks or writes anything: an incompatible parent (another language
pair or architecture, SentencePiece models other than those the data was encoded with, missing
files, an ensemble export) is one ``ParentError`` line naming both sides.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config_fields import ConfigError
from core.contract import (
    ASSETS_EXTRA_DIR,
    CHECKPOINT_STATE,
    CONFIG_ASSET,
    CONFIG_FILE,
    METADATA_ASSET,
    SAVED_MODEL_FILE,
    SOURCE_MODEL_ASSET,
    TARGET_MODEL_ASSET,
    VARIABLES_PREFIX,
    RunLayout,
    latest_version,
    version_folders,
)
from nmt.config import ExperimentConfig, load_config

KEY = "train.init_from"
# Model keys that change no weight: a child may set them otherwise than its parent.
_FREE_MODEL_KEYS = ("dropout",)


class ParentError(ConfigError):
    """A parent this experiment cannot start from (one line naming both sides)."""


@dataclass(frozen=True)
class Parent:
    """A resolved parent: where its weights, config and SentencePiece models are."""

    given: str  # ``train.init_from`` as written
    kind: str  # "run" or "export"
    weights: Path  # a run's checkpoint folder, or an export's version folder
    config: ExperimentConfig
    source_spm: Path
    target_spm: Path
    training_state: bool  # holds the optimizer, step and counters (a run's ``checkpoints``)
    lineage: dict[str, Any] | None = None  # the parent's own parent record, if it has one

    def record(self) -> dict[str, Any]:
        """The parent as ``parent.json`` and the export's ``metadata.json`` name it."""
        record: dict[str, Any] = {
            "init_from": self.given,
            "kind": self.kind,
            "path": str(self.weights.absolute()),
            "experiment": self.config.experiment,
            "source_lang": self.config.data.source_lang,
            "target_lang": self.config.data.target_lang,
        }
        if self.kind == "export":
            name = self.weights.name  # a version folder, or a copied export of any name
            record["version"] = int(name) if name.isdigit() else None
        if self.lineage:
            record["parent"] = self.lineage
        return record


def _fail(given: str, problem: str) -> ParentError:
    return ParentError(f"{KEY}: parent {given}: {problem}")


def _require(given: str, path: Path, what: str) -> Path:
    if not path.is_file():
        raise _fail(given, f"no {what} ({path} is missing)")
    return path


def _read_json(given: str, path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _fail(given, f"unreadable {path.name} ({err})") from None
    if not isinstance(data, dict):
        raise _fail(given, f"{path} is not a JSON object")
    return data


def _parent_config(given: str, path: Path) -> ExperimentConfig:
    _require(given, path, "config")
    try:
        return load_config(path)
    except ConfigError as err:
        raise _fail(given, f"unreadable config: {err}") from None


def _export_parent(given: str, path: Path) -> Parent:
    """The version folder ``path``, or the newest complete version under it (there is one)."""
    newest = latest_version(path)
    folder = path if (path / SAVED_MODEL_FILE).is_file() or newest is None else newest
    extra = folder / ASSETS_EXTRA_DIR
    metadata = _read_json(given, extra / METADATA_ASSET)
    members = metadata.get("members")
    if members:
        raise _fail(
            given,
            f"{folder} is an ensemble of {len(members)} models, which cannot be one model's "
            "start; name one member's run folder instead",
        )
    _require(given, folder / f"{VARIABLES_PREFIX}.index", "SavedModel variables")
    return Parent(
        given,
        "export",
        folder,
        _parent_config(given, extra / CONFIG_ASSET),
        _require(given, extra / SOURCE_MODEL_ASSET, "source SentencePiece model"),
        _require(given, extra / TARGET_MODEL_ASSET, "target SentencePiece model"),
        training_state=False,
        lineage=metadata.get("parent"),
    )


def _run_folders(given: str, path: Path) -> tuple[Path, Path]:
    """The run folder and the checkpoint folder that ``path`` names."""
    if (path / CONFIG_FILE).is_file():
        return path, RunLayout(path).best
    names = [folder.name for folder in RunLayout(path.parent).checkpoint_folders]
    if (path.parent / CONFIG_FILE).is_file() and path.name in names:
        return path.parent, path
    raise _fail(
        given,
        f"not a run folder (no {CONFIG_FILE}), a run's checkpoint folder "
        f"({', '.join(names)}) or an export (no {SAVED_MODEL_FILE})",
    )


def _run_parent(given: str, path: Path) -> Parent:
    run_dir, folder = _run_folders(given, path)
    _require(given, folder / CHECKPOINT_STATE, "trained model")
    layout = RunLayout(run_dir)
    return Parent(
        given,
        "run",
        folder,
        _parent_config(given, layout.config_copy),
        _require(given, layout.source_spm, "source SentencePiece model"),
        _require(given, layout.target_spm, "target SentencePiece model"),
        training_state=folder.name == layout.checkpoints.name,
        lineage=_read_json(given, layout.parent) or None,
    )


def resolve_parent(given: str) -> Parent:
    """The parent ``given`` names; ``ParentError`` if it is none, or lacks a file it needs."""
    path = Path(given)
    if not path.is_dir():
        raise _fail(given, "no such folder")
    if (path / SAVED_MODEL_FILE).is_file() or version_folders(path, complete=True):
        return _export_parent(given, path)
    return _run_parent(given, path)


def _model_differences(ours: Any, theirs: Any) -> list[str]:
    """``key (ours vs theirs)`` for every model key, but those that change no weight, that
    differs."""
    return [
        f"model.{field.name} {getattr(ours, field.name)!r} vs {getattr(theirs, field.name)!r}"
        for field in dataclasses.fields(ours)
        if field.name not in _FREE_MODEL_KEYS
        and getattr(ours, field.name) != getattr(theirs, field.name)
    ]


def _normalization_differences(ours: ExperimentConfig, theirs: ExperimentConfig) -> list[str]:
    """``data.cleaning.KEY (ours vs theirs)`` for every normalisation setting that differs."""
    mine, parents = ours.data.cleaning.normalization(), theirs.data.cleaning.normalization()
    return [
        f"data.cleaning.{field.name} {getattr(mine, field.name)!r} vs "
        f"{getattr(parents, field.name)!r}"
        for field in dataclasses.fields(mine)
        if getattr(mine, field.name) != getattr(parents, field.name)
    ]


def _check_keep(config: ExperimentConfig, parent: Parent) -> None:
    keep = config.train.init_keep
    if keep and not parent.training_state:
        holds = "an export" if parent.kind == "export" else f"{parent.weights.name}/"
        raise _fail(
            parent.given,
            f"{holds} holds the model's weights only, no {', '.join(keep)} "
            "(train.init_keep): name a run's checkpoints/ folder to keep them",
        )
    ours, theirs = config.train.precision, parent.config.train.precision
    if "optimizer" in keep and (ours == "mixed_float16") != (theirs == "mixed_float16"):
        raise _fail(
            parent.given,
            f"trained in precision {theirs}, experiment {config.experiment} in {ours}: "
            "float16's loss-scaled optimizer has other state (drop optimizer from "
            "train.init_keep)",
        )


def check_compatible(config: ExperimentConfig, parent: Parent) -> None:
    """Raise ``ParentError`` unless ``config``'s run can start from ``parent``: not its own
    run, the same language pair and architecture, a keepable training state."""
    given, here = parent.given, config.experiment
    if parent.kind == "run" and parent.weights.parent.resolve() == config.run_dir.resolve():
        raise _fail(given, f"is experiment {here}'s own run folder")
    pair = f"{config.data.source_lang}-{config.data.target_lang}"
    theirs = f"{parent.config.data.source_lang}-{parent.config.data.target_lang}"
    if pair != theirs:
        raise _fail(given, f"translates {theirs}, experiment {here} {pair}")
    differences = _model_differences(config.model, parent.config.model)
    if differences:
        raise _fail(
            given,
            f"another architecture than experiment {here}'s: {'; '.join(differences)} "
            f"({here} vs parent)",
        )
    _check_keep(config, parent)
    normalization = _normalization_differences(config, parent.config)
    if normalization:
        raise _fail(
            given,
            f"normalises text otherwise than experiment {here}: {'; '.join(normalization)} "
            f"({here} vs parent): its SentencePiece models and weights know text as its own "
            "cleaning normalised it",
        )
    sampled = config.data.sentencepiece.subword_sampling.copies > 0
    if sampled and parent.config.data.sentencepiece.model_type != "unigram":
        raise _fail(
            given,
            f"its SentencePiece models are {parent.config.data.sentencepiece.model_type}; "
            f"experiment {here}'s data.sentencepiece.subword_sampling needs unigram models",
        )


def check_vocabulary(config: ExperimentConfig, parent: Parent) -> None:
    """Raise ``ParentError`` if the run's data folder holds SentencePiece models other than
    the parent's (preprocessed before ``init_from`` was set, or from another parent)."""
    layout = RunLayout(config.run_dir)
    for side, ours, theirs in (
        ("source", layout.source_spm, parent.source_spm),
        ("target", layout.target_spm, parent.target_spm),
    ):
        if ours.is_file() and ours.read_bytes() != theirs.read_bytes():
            raise _fail(
                parent.given,
                f"its {side} SentencePiece model {theirs} differs from experiment "
                f"{config.experiment}'s {ours}: run `nmt preprocess` again to encode the data "
                "with the parent's vocabulary",
            )


def resumes(config: ExperimentConfig) -> bool:
    """Whether training ``config``'s run resumes its own checkpoints (then ``init_from`` is
    not read: a resumed child never starts from its parent again). Raises ``ParentError`` when
    the checkpoint state names a newest checkpoint whose files are gone: the child would start
    from neither its own weights nor its parent's."""
    state = RunLayout(config.run_dir).checkpoints / CHECKPOINT_STATE
    if not state.is_file():
        return False
    newest = _newest_checkpoint(state)
    if newest is None or not newest.with_name(newest.name + ".index").is_file():
        raise ParentError(
            f"{state}: names the newest checkpoint {newest or '(none)'}, whose files are "
            f"missing: restore them, or remove {state.parent} to start from the parent "
            f"{config.train.init_from} again"
        )
    return True


def _newest_checkpoint(state: Path) -> Path | None:
    """The checkpoint prefix a TensorFlow checkpoint state file names as its newest
    (``model_checkpoint_path: "ckpt-250"``, relative to its folder or absolute)."""
    for line in state.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model_checkpoint_path":
            return state.parent / value.strip().strip('"')
    return None


def checked_parent(config: ExperimentConfig, command: str) -> Parent | None:
    """The parent of ``config``'s run for stage ``command``, checked (for ``train`` also
    against the data folder's SentencePiece models); ``None`` without ``init_from`` and for
    ``train`` when it resumes the run's own checkpoints. Raises ``ParentError``."""
    if not config.train.init_from or (command == "train" and resumes(config)):
        return None
    parent = resolve_parent(config.train.init_from)
    check_compatible(config, parent)
    if command == "train":
        check_vocabulary(config, parent)
    return parent
