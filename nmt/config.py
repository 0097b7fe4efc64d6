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


def _run_on_scalar(text: str, line: int) -> yaml.ScalarToken | None:
    """The last token before the error if it is a plain scalar that started before ``line``."""
    last = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            last = token
    except yaml.YAMLError:
        pass
    if isinstance(last, yaml.ScalarToken) and last.plain and last.start_mark.line < line:
        return last
    return None


def yaml_problem(text: str, err: yaml.YAMLError) -> str:
    """One line: where a YAML syntax error is (line, column, 1-based) and what it is.

    An unclosed bracket or quote is reported where it opens, and a key or value that
    runs on into a line with a ``:`` (a missing colon, a wrong indent) where it starts,
    rather than where the parser noticed.
    """
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None)
    if mark is None or not problem:
        return "malformed YAML: " + " ".join(str(err).split())
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    opened, context = getattr(err, "context_mark", None), getattr(err, "context", None) or ""
    if (
        opened is not None
        and opened.line < mark.line
        and ("flow" in context or "quoted" in context)
    ):
        char = text.splitlines()[opened.line][opened.column : opened.column + 1]
        return (
            f"line {opened.line + 1}, column {opened.column + 1}: malformed YAML: "
            f"{char!r} is not closed ({problem} at {where})"
        )
    scalar = _run_on_scalar(text, mark.line) if "mapping values" in problem else None
    if scalar is not None:
        start = scalar.start_mark
        return (
            f"line {start.line + 1}, column {start.column + 1}: malformed YAML: "
            f"{scalar.value!r} runs on into line {mark.line + 1}, where {problem} "
            "(a missing ':' after a key, or a wrong indent?)"
        )
    return f"{where}: malformed YAML: {problem}"


def load_config(path: str | Path, overrides: tuple[str, ...] = ()) -> ExperimentConfig:
    """Read, override and validate an experiment config; raises ``ConfigError`` naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config file: {err}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: {yaml_problem(text, err)}") from None
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
