"""A preprocessing run with sampled copies of train: files, stats, completeness, standard splits."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import sentencepiece as spm

from core.contract import sampled_split
from core.data_complete import IncompleteDataError, check_complete
from pipeline.config import (
    InputConfig,
    PreprocessConfig,
    SentencePieceConfig,
    SplitConfig,
    SubwordSamplingConfig,
)
from pipeline.preprocess import run_preprocess

SAMPLING = SubwordSamplingConfig(copies=2, nbest_size=8, alpha=0.1, seed=1)
BASE = PreprocessConfig(
    source_lang="en",
    target_lang="es",
    inputs=(InputConfig(name="sample", format="sample", pairs=300, seed=3),),
    split=SplitConfig(dev_fraction=0.1, test_fraction=0.1),
    sentencepiece=SentencePieceConfig(model_type="unigram", vocab_size=200),
    num_shards=2,
)
SAMPLED = dataclasses.replace(
    BASE, sentencepiece=dataclasses.replace(BASE.sentencepiece, subword_sampling=SAMPLING)
)
TWO_WORKERS = ("--runner=FnApiRunner", "--direct_num_workers=2")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outs = {name: tmp_path_factory.mktemp(name) for name in ("off", "sampled", "workers")}
    run_preprocess(BASE, outs["off"])
    run_preprocess(SAMPLED, outs["sampled"])
    run_preprocess(dataclasses.replace(SAMPLED, beam_args=TWO_WORKERS), outs["workers"])
    return outs


def _pairs(out: Path, split: str) -> list[tuple[list[int], list[int]]]:
    import tensorflow as tf

    spec = {
        "source_ids": tf.io.VarLenFeature(tf.int64),
        "target_ids": tf.io.VarLenFeature(tf.int64),
    }
    pairs = []
    for record in tf.data.TFRecordDataset(sorted(map(str, out.glob(f"tfrecords/{split}-*")))):
        parsed = tf.io.parse_single_example(record, spec)
        pairs.append(
            (
                tf.sparse.to_dense(parsed["source_ids"]).numpy().tolist(),
                tf.sparse.to_dense(parsed["target_ids"]).numpy().tolist(),
            )
        )
    return pairs


def test_copies_are_written_listed_and_counted(runs: dict[str, Path]) -> None:
    out = runs["sampled"]
    names = sorted(p.name for p in (out / "tfrecords").iterdir())
    for copy in range(2):
        for shard in range(2):
            assert f"{sampled_split(copy)}-{shard:05d}-of-00002.tfrecord" in names
    assert len(names) == 4 + 4
    listed = json.loads((out / "complete.json").read_text())["files"]
    assert f"tfrecords/{sampled_split(1)}-00001-of-00002.tfrecord" in listed
    stats = json.loads((out / "stats.json").read_text())
    section = stats["subword_sampling"]
    assert section["copies"] == 2 and section["pairs_per_copy"] == stats["splits"]["train"]
    assert (section["nbest_size"], section["alpha"], section["seed"]) == (8, 0.1, 1)
    for side in ("source", "target"):
        counts = section["pieces_per_sentence"][side]
        assert counts["sampled"] > counts["standard"] > 0  # the best is the shortest, mostly


def test_copies_are_sampled_segmentations_of_train(runs: dict[str, Path]) -> None:
    out = runs["sampled"]
    processor = spm.SentencePieceProcessor(model_file=str(out / "sentencepiece/source.model"))
    standard = _pairs(out, "train")
    copies = [_pairs(out, sampled_split(copy)) for copy in range(2)]
    assert copies[0] != copies[1] and copies[0] != standard
    decoded = sorted(tuple(map(processor.decode, pair)) for pair in standard)
    for pairs in copies:
        assert len(pairs) == len(standard)
        assert sorted(tuple(map(processor.decode, pair)) for pair in pairs) == decoded


def test_standard_outputs_and_copies_do_not_change(runs: dict[str, Path]) -> None:
    """Sampling leaves train, dev, test and the lexical table as they are without it, and
    the copies are the same bytes with two Beam workers."""
    off, sampled, workers = runs["off"], runs["sampled"], runs["workers"]
    for path in sorted((off / "tfrecords").iterdir()):
        assert (sampled / "tfrecords" / path.name).read_bytes() == path.read_bytes()
    assert (sampled / "lexical_table.json").read_bytes() == (
        off / "lexical_table.json"
    ).read_bytes()
    off_stats = json.loads((off / "stats.json").read_text())
    sampled_stats = json.loads((sampled / "stats.json").read_text())
    assert "subword_sampling" not in off_stats
    assert {k: v for k, v in sampled_stats.items() if k != "subword_sampling"} == off_stats
    for path in sorted((sampled / "tfrecords").iterdir()):
        assert (workers / "tfrecords" / path.name).read_bytes() == path.read_bytes()


def test_a_missing_copy_makes_the_folder_incomplete(runs: dict[str, Path], tmp_path: Path) -> None:
    check_complete(runs["sampled"])
    copied = tmp_path / "data"
    shutil.copytree(runs["sampled"], copied)
    (copied / "tfrecords" / f"{sampled_split(1)}-00000-of-00002.tfrecord").unlink()
    with pytest.raises(IncompleteDataError, match="missing"):
        check_complete(copied)
