"""Reject accounting, logging and input validation of ``run_preprocess``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipeline.config import (
    CleaningConfig,
    InputConfig,
    PreprocessConfig,
    SentencePieceConfig,
    SplitConfig,
)
from pipeline.errors import CorpusError
from pipeline.preprocess import run_preprocess

ALIGNED = [
    (b"the cat sleeps", b"el gato duerme"),
    (b"", b"hola"),
    (b"hello", b"   "),
    (b"w " * 30, b"y " * 30),
    (b"a b c d e f g h", b"x"),
    (b"ok ok", b"ok ok"),
    (b"the  cat sleeps ", b"el gato duerme"),
    (b"good", b"\xff\xfe"),
    (b"n\x00ul", b"nulo"),
    (b"tom &amp; jerry", b"tom y jerry"),
    (b"x" * 60, b"equis"),
]
TSV = b"one\tuno\nsolo\nbad \xc3\tmalo\nnul\x00\tnulo\nthe cat sleeps\tel gato duerme\n"


def _config(tmp: Path, **changes: object) -> PreprocessConfig:
    values: dict = {
        "source_lang": "en",
        "target_lang": "es",
        "inputs": (
            InputConfig(name="aligned", source=str(tmp / "c.en"), target=str(tmp / "c.es")),
            InputConfig(name="tsv", format="tsv", path=str(tmp / "c.tsv")),
        ),
        "cleaning": CleaningConfig(max_tokens=20, max_chars=50),
        "split": SplitConfig(dev_fraction=0.0, test_fraction=0.0),
        "sentencepiece": SentencePieceConfig(vocab_size=30),
        "num_shards": 1,
    }
    return PreprocessConfig(**(values | changes))  # type: ignore[arg-type]


def _write_inputs(tmp: Path) -> None:
    (tmp / "c.en").write_bytes(b"\n".join(s for s, _ in ALIGNED) + b"\n")
    (tmp / "c.es").write_bytes(b"\n".join(t for _, t in ALIGNED) + b"\n")
    (tmp / "c.tsv").write_bytes(TSV)


class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list[str]]:
    tmp = tmp_path_factory.mktemp("defects")
    _write_inputs(tmp)
    logger, handler = logging.getLogger("pipeline"), _Messages()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        stats = run_preprocess(_config(tmp), tmp / "out")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return tmp / "out", stats, handler.messages


def test_each_step_is_logged(defect_run: tuple[Path, dict, list[str]]) -> None:
    messages = defect_run[2]
    for step in ("reading", "cleaning", "training SentencePiece", "encoding"):
        assert any(m.startswith(step) for m in messages), step


def test_every_defect_is_counted_with_its_reason(defect_run: tuple[Path, dict, list[str]]) -> None:
    out, stats, _ = defect_run
    aligned_reasons = {
        "duplicate": 1,
        "empty_source": 1,
        "empty_target": 1,
        "invalid_utf8": 1,
        "length_ratio": 1,
        "nul_byte": 1,
        "source_equals_target": 1,
        "too_long": 2,
    }
    assert stats["corpora"]["aligned"] == {
        "input": 11,
        "kept": 2,
        "rejected": 9,
        "rejected_by_reason": aligned_reasons,
    }
    tsv_reasons = {"duplicate": 1, "invalid_utf8": 1, "nul_byte": 1, "too_few_columns": 1}
    assert stats["corpora"]["tsv"] == {
        "input": 5,
        "kept": 1,
        "rejected": 4,
        "rejected_by_reason": tsv_reasons,
    }
    assert stats["splits"] == {"train": 3, "dev": 0, "test": 0}
    assert json.loads((out / "stats.json").read_text()) == stats


def test_rejects_file_names_corpus_line_and_reason(
    defect_run: tuple[Path, dict, list[str]],
) -> None:
    out = defect_run[0]
    rejects = [line.split("\t")[:3] for line in (out / "rejects.tsv").open()]
    assert [(c, int(n), r) for c, n, r in rejects] == [
        ("aligned", 2, "empty_source"),
        ("aligned", 3, "empty_target"),
        ("aligned", 4, "too_long"),
        ("aligned", 5, "length_ratio"),
        ("aligned", 6, "source_equals_target"),
        ("aligned", 7, "duplicate"),
        ("aligned", 8, "invalid_utf8"),
        ("aligned", 9, "nul_byte"),
        ("aligned", 11, "too_long"),
        ("tsv", 2, "too_few_columns"),
        ("tsv", 3, "invalid_utf8"),
        ("tsv", 4, "nul_byte"),
        ("tsv", 5, "duplicate"),
    ]


def test_kept_pairs_are_cleaned_and_sorted(defect_run: tuple[Path, dict, list[str]]) -> None:
    out = defect_run[0]
    assert (out / "text" / "train.en").read_text().splitlines() == [
        "one",
        "the cat sleeps",
        "tom & jerry",
    ]
    assert (out / "text" / "dev.en").read_text() == ""
    assert (out / "tfrecords" / "dev-00000-of-00001.tfrecord").is_file()


def test_misaligned_files_fail_before_any_output(tmp_path: Path) -> None:
    _write_inputs(tmp_path)
    (tmp_path / "c.es").write_bytes(b"only one line\n")
    with pytest.raises(CorpusError) as err:
        run_preprocess(_config(tmp_path), tmp_path / "out")
    assert str(err.value) == (
        f"{tmp_path / 'c.en'} has 11 lines but {tmp_path / 'c.es'} has 1; "
        "aligned files must have the same number of lines"
    )
    assert not (tmp_path / "out").exists()


def test_missing_input_fails_before_any_output(tmp_path: Path) -> None:
    _write_inputs(tmp_path)
    (tmp_path / "c.tsv").unlink()
    with pytest.raises(CorpusError, match=r"corpus 'tsv': no file matches .*c\.tsv"):
        run_preprocess(_config(tmp_path), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_corpus_with_nothing_left_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "c.tsv").write_bytes(b"same\tsame\n\tempty\n")
    config = _config(
        tmp_path, inputs=(InputConfig(name="t", format="tsv", path=str(tmp_path / "c.tsv")),)
    )
    with pytest.raises(CorpusError, match=r"^no training sentences are left after cleaning"):
        run_preprocess(config, tmp_path / "out")
    assert not (tmp_path / "out" / ".work").exists()
