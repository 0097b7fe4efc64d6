"""Dev and test splits given as files: cleaned, counted per corpus, and leakage removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import InputConfig, PreprocessConfig, SentencePieceConfig, SplitConfig
from pipeline.preprocess import run_preprocess

TRAIN = [
    ("a dog runs", "un perro corre"),
    ("a cat sleeps", "un gato duerme"),
    ("the bird sings", "el pájaro canta"),
    ("the sun shines", "el sol brilla"),
    ("a dog runs", "un perro está corriendo"),
    ("the fish swims", "el pez nada"),
]
DEV = [("a dog runs", "el perro corre"), ("a dog runs", "el perro corre"), ("one boy", "")]
TEST = "the sun shines\tbrilla el sol\nthe moon rises\tsale la luna\n"


def _write(tmp: Path, name: str, pairs: list[tuple[str, str]]) -> InputConfig:
    (tmp / f"{name}.en").write_text("".join(f"{s}\n" for s, _ in pairs), encoding="utf-8")
    (tmp / f"{name}.es").write_text("".join(f"{t}\n" for _, t in pairs), encoding="utf-8")
    return InputConfig(name=name, source=str(tmp / f"{name}.en"), target=str(tmp / f"{name}.es"))


@pytest.fixture(scope="module")
def given_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("given")
    (tmp / "test.tsv").write_text(TEST, encoding="utf-8")
    config = PreprocessConfig(
        source_lang="en",
        target_lang="es",
        inputs=(_write(tmp, "corpus", TRAIN),),
        split=SplitConfig(
            dev_fraction=0.5,
            test_fraction=0.0,
            dev_inputs=(_write(tmp, "val", DEV),),
            test_inputs=(InputConfig(name="flickr", format="tsv", path=str(tmp / "test.tsv")),),
        ),
        sentencepiece=SentencePieceConfig(vocab_size=40),
        num_shards=1,
    )
    return tmp / "out", run_preprocess(config, tmp / "out")


def _lines(out: Path, name: str) -> list[str]:
    return (out / "text" / name).read_text(encoding="utf-8").splitlines()


def test_given_files_are_the_dev_and_test_splits(given_run: tuple[Path, dict]) -> None:
    out, stats = given_run
    assert _lines(out, "dev.en") == ["a dog runs"]
    assert _lines(out, "dev.es") == ["el perro corre"]
    assert _lines(out, "test.en") == ["the moon rises", "the sun shines"]
    assert _lines(out, "train.en") == ["a cat sleeps", "the bird sings", "the fish swims"]
    assert stats["splits"] == {"train": 3, "dev": 1, "test": 2}


def test_given_files_are_cleaned_and_counted_per_corpus(given_run: tuple[Path, dict]) -> None:
    corpora = given_run[1]["corpora"]
    assert corpora["val"] == {
        "input": 3,
        "kept": 1,
        "rejected": 2,
        "rejected_by_reason": {"duplicate": 1, "empty_target": 1},
    }
    assert corpora["flickr"] == {"input": 2, "kept": 2, "rejected": 0, "rejected_by_reason": {}}


def test_train_sources_found_in_dev_or_test_are_removed(given_run: tuple[Path, dict]) -> None:
    out, stats = given_run
    assert stats["corpora"]["corpus"] == {
        "input": 6,
        "kept": 3,
        "rejected": 3,
        "rejected_by_reason": {"leakage": 3},
    }
    assert stats["leakage_removed"] == 3
    leaked = [line.split("\t")[:4] for line in (out / "rejects.tsv").open(encoding="utf-8")]
    assert [row for row in leaked if row[2] == "leakage"] == [
        ["corpus", "1", "leakage", "a dog runs"],
        ["corpus", "4", "leakage", "the sun shines"],
        ["corpus", "5", "leakage", "a dog runs"],
    ]


def test_dev_and_test_inputs_must_be_files() -> None:
    sample = InputConfig(name="s", format="sample")
    with pytest.raises(ValueError, match="dev/test inputs must be aligned or tsv files"):
        SplitConfig(dev_inputs=(sample,))
    main = InputConfig(name="x", source="a", target="b")
    with pytest.raises(ValueError, match="must be unique"):
        PreprocessConfig(inputs=(main,), split=SplitConfig(test_inputs=(main,)))
