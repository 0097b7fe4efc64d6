"""Real data: Multi30k English-German, with its val and test files as dev and test, through
the whole preprocessing pipeline (31,014 pairs: about 20 s).

Skipped when the shared data folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import InputConfig, PreprocessConfig, SentencePieceConfig, SplitConfig
from pipeline.preprocess import run_preprocess
from tests.conftest import SHARED_DATA

MULTI30K = SHARED_DATA / "multi30k"
SPLITS = ("train", "val", "test_2016_flickr")

# The slow tier (make test-all, CI): integration tests run servers, Dask clusters, real
# corpora or whole evaluations.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(
            (MULTI30K / f"{split}.{lang}").is_file() for split in SPLITS for lang in ("en", "de")
        ),
        reason=f"Multi30k not found at {MULTI30K} (the shared data folder is absent)",
    ),
]


@pytest.fixture(scope="module")
def multi30k_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("multi30k")
    train, val, test = (
        InputConfig(
            name=name, source=str(MULTI30K / f"{name}.en"), target=str(MULTI30K / f"{name}.de")
        )
        for name in SPLITS
    )
    config = PreprocessConfig(
        source_lang="en",
        target_lang="de",
        inputs=(train,),
        split=SplitConfig(dev_inputs=(val,), test_inputs=(test,)),
        sentencepiece=SentencePieceConfig(vocab_size=500, max_sentences=5000),
        num_shards=2,
    )
    return out, run_preprocess(config, out)


def test_every_pair_is_kept_or_rejected(multi30k_run: tuple[Path, dict]) -> None:
    stats = multi30k_run[1]
    corpora = stats["corpora"]
    train = corpora["train"]
    assert train["input"] == 29_000 == train["kept"] + train["rejected"]
    assert train["rejected_by_reason"]["duplicate"] == 3
    assert (corpora["val"]["input"], corpora["test_2016_flickr"]["input"]) == (1014, 1000)
    assert stats["splits"] == {
        "train": train["kept"],
        "dev": corpora["val"]["kept"],
        "test": corpora["test_2016_flickr"]["kept"],
    }


def test_the_val_sentence_found_in_train_is_removed_from_train(
    multi30k_run: tuple[Path, dict],
) -> None:
    out, stats = multi30k_run
    assert (
        stats["leakage_removed"] == stats["corpora"]["train"]["rejected_by_reason"]["leakage"] == 1
    )
    leaked = [line.split("\t") for line in (out / "rejects.tsv").open(encoding="utf-8")]
    source = next(row[3] for row in leaked if row[2] == "leakage")
    assert source in (out / "text" / "dev.en").read_text(encoding="utf-8").splitlines()
    assert source not in (out / "text" / "train.en").read_text(encoding="utf-8").splitlines()


def test_html_entities_are_gone(multi30k_run: tuple[Path, dict]) -> None:
    out = multi30k_run[0]
    assert b"&amp;" in (MULTI30K / "train.en").read_bytes()
    for split in ("train", "dev", "test"):
        for lang in ("en", "de"):
            text = (out / "text" / f"{split}.{lang}").read_text(encoding="utf-8")
            assert "&amp;" not in text, f"{split}.{lang}"
