"""Experiment configuration: one YAML file, loaded once into frozen, typed sections.

Each stage receives only its own section: ``data`` goes to preprocessing,
``model`` and ``train`` to training, ``decode`` to decoding, ``evaluate`` and
``export`` to their stages.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.config_fields import ConfigError, build_section
from core.languages import bleu_tokenizer
from pipeline.config import PreprocessConfig
from seq2seq.config import DecodeConfig, EvaluateConfig, ExportConfig, ModelConfig, TrainConfig


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment: its name, where artifacts go, and one section per stage."""

    experiment: str
    data: PreprocessConfig
    run_root: str = "runs"
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    def __post_init__(self) -> None:
        if self.evaluate.tokenize is None:  # set once here, by the target language
            tokenize = bleu_tokenizer(self.data.target_lang)
            object.__setattr__(
                self, "evaluate", dataclasses.replace(self.evaluate, tokenize=tokenize)
            )

    @property
    def run_dir(self) -> Path:
        """``runs/<experiment>/``: every artifact of this experiment but the export."""
        return Path(self.run_root) / self.experiment

    @property
    def export_dir(self) -> Path:
        """``serving/models/<experiment>/``: the base path holding integer versions."""
        return Path(self.export.base_dir) / self.experiment


def apply_override(raw: dict[str, Any], assignment: str) -> None:
    """Apply one ``section.key=value`` override (value parsed as YAML) to ``raw`` in place."""
    path, sep, text = assignment.partition("=")
    if not sep or not path:
        raise ConfigError(f"--set {assignment!r}: expected section.key=value")
    keys = path.split(".")
    node = raw
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {assignment!r}: {key!r} is not a section")
        node = child
    try:
        node[keys[-1]] = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {assignment!r}: value is not valid YAML: {err}") from err


def load_config(path: str | Path, overrides: tuple[str, ...] = ()) -> ExperimentConfig:
    """Read, override and validate an experiment config; raises ``ConfigError`` naming the file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config file: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} malformed YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at top level")
    for assignment in overrides:
        apply_override(raw, assignment)
    try:
        return build_section(ExperimentConfig, raw, "")
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The resolved config as plain data (for run directories and export assets)."""
    return dataclasses.asdict(config)
