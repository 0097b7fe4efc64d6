"""Config loading: typed sections, clear errors, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config_fields import ConfigError
from nmt.config import ExperimentConfig, load_config

REPO = Path(__file__).resolve().parents[3]
MINIMAL = "experiment: t\ndata:\n  inputs:\n    - {name: s, format: sample, pairs: 10}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_config_loads() -> None:
    for path in sorted((REPO / "configs").glob("*.yaml")):
        assert isinstance(load_config(path), ExperimentConfig)


def test_defaults_and_override(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), ("train.epochs=3", "model.cell=gru"))
    assert config.train.epochs == 3
    assert config.model.cell == "gru"
    assert config.model.units == 256
    assert config.run_dir == Path("runs/t")
    assert config.export_dir == Path("serving/models/t")


def test_exponent_floats_without_a_dot(tmp_path: Path) -> None:
    """YAML 1.1 reads ``1e-9`` as a string; float keys accept it as the number it is."""
    config = load_config(
        write(tmp_path, MINIMAL + "train: {adam_epsilon: 1e-9}\n"), ("train.learning_rate=2E-3",)
    )
    assert config.train.adam_epsilon == 1e-9
    assert config.train.learning_rate == 2e-3


def test_sections_are_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(AttributeError):
        config.train.epochs = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("modle: {}\n", "unknown key(s) 'modle'; valid keys: experiment, data"),
        ("model: {cell: rnn}\n", "model.cell: invalid choice 'rnn'; valid options: lstm, gru"),
        ("train: {epochs: three}\n", "train.epochs: expected int, got str"),
        ("model: {dropout: 1.5}\n", "dropout must be in [0, 1)"),
        ("decode: {strategy: sample}\n", "valid options: greedy, beam"),
        ("train: {adam_epsilon: 0}\n", "adam_epsilon must be > 0"),
        ("train: {learning_rate: 1e-3x}\n", "train.learning_rate: expected float, got str"),
        ("train: {average: {method: mean}}\n", "valid options: none, last, ema"),
        ("train: {average: {ema_decay: 1.0}}\n", "average.ema_decay must be in [0, 1)"),
        (
            "train: {keep_checkpoints: 2, average: {method: last, last: 3}}\n",
            "average.last (3) needs keep_checkpoints >= it (2)",
        ),
        (
            "train: {init_from: runs/a, init_keep: [steps]}\n",
            "init_keep: unknown part(s) 'steps'; valid options: step, optimizer, schedule, best",
        ),
        ("train: {init_from: runs/a, init_keep: [step, step]}\n", "init_keep lists a part twice"),
        ("train: {init_keep: [optimizer]}\n", "init_keep needs init_from"),
        (
            "train: {lr_decay: cosine, warmup_steps: 200}\n",
            "lr_decay cosine ends at max_steps, which must exceed warmup_steps (max_steps 0",
        ),
    ],
)
def test_invalid_configs_name_file_and_problem(tmp_path: Path, extra: str, message: str) -> None:
    path = write(tmp_path, MINIMAL + extra)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: malformed YAML"):
        load_config(write(tmp_path, "experiment: [unclosed\n"))
    with pytest.raises(ConfigError, match="missing required key"):
        load_config(write(tmp_path, "data: {inputs: [{name: s, format: sample}]}\n"))


def test_bad_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"expected section\.key=value"):
        load_config(write(tmp_path, MINIMAL), ("train.epochs",))
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(write(tmp_path, MINIMAL), ("train.epoch=2",))


@pytest.mark.parametrize(
    ("target", "overrides", "tokenize", "coverage"),
    [
        ("ja", (), "ja-mecab", 0.9995),
        ("zh", (), "zh", 0.9995),
        ("ko", (), "ko-mecab", 0.9995),
        ("de", (), "13a", 1.0),
        (
            "ja",
            ("evaluate.tokenize=char", "data.sentencepiece.character_coverage=1.0"),
            "char",
            1.0,
        ),
        ("ja", ("evaluate.tokenize=null",), "ja-mecab", 0.9995),
    ],
)
def test_language_defaults_where_the_config_is_silent(
    tmp_path: Path, target: str, overrides: tuple[str, ...], tokenize: str, coverage: float
) -> None:
    text = MINIMAL + f"  source_lang: en\n  target_lang: {target}\n"
    config = load_config(write(tmp_path, text), overrides)
    assert config.evaluate.tokenize == tokenize
    assert config.data.sentencepiece.character_coverage == coverage


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        # A missing colon: the parser notices on the next line.
        (
            "experiment: t\ndata:\n  source_lang en\n  target_lang: es\n",
            "line 3, column 3",
            "'source_lang en target_lang' runs on into line 4",
        ),
        # An unclosed bracket or quote is reported where it opens.
        ("experiment: t\ndata:\n  inputs: [a, b\n  target_lang: es\n", "line 3, column 11", "'['"),
        ('experiment: "t\ndata: {}\n', "line 1, column 13", "'\"' is not closed"),
        ("experiment: t\n\tdata: {}\n", "line 2, column 1", "found character '\\t'"),
    ],
)
def test_yaml_syntax_errors_are_one_line_with_file_line_and_column(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {where}: malformed YAML: ")
    assert problem in message
