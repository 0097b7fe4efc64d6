"""End-to-end runs of ``run_preprocess``: layout, TFRecords, determinism, accounting, errors."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest
import sentencepiece as spm

from pipeline.config import (
    InputConfig,
    PreprocessConfig,
    SentencePieceConfig,
    SplitConfig,
)
from pipeline.preprocess import run_preprocess
from pipeline.subwords import train_sentencepiece

SPLITS = ("train", "dev", "test")
SAMPLE = PreprocessConfig(
    source_lang="en",
    target_lang="es",
    inputs=(InputConfig(name="sample", format="sample", pairs=300, seed=3),),
    split=SplitConfig(dev_fraction=0.1, test_fraction=0.1),
    sentencepiece=SentencePieceConfig(vocab_size=200),
    num_shards=2,
)


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    first, second = tmp_path_factory.mktemp("run1"), tmp_path_factory.mktemp("run2")
    run_preprocess(SAMPLE, first)
    run_preprocess(SAMPLE, second)
    return first, second


def _read_examples(out: Path, split: str) -> list[tuple[list[int], list[int]]]:
    import tensorflow as tf

    spec = {
        "source_ids": tf.io.VarLenFeature(tf.int64),
        "target_ids": tf.io.VarLenFeature(tf.int64),
        "source_length": tf.io.FixedLenFeature([], tf.int64),
        "target_length": tf.io.FixedLenFeature([], tf.int64),
    }
    examples = []
    for record in tf.data.TFRecordDataset(sorted(map(str, out.glob(f"tfrecords/{split}-*")))):
        parsed = tf.io.parse_single_example(record, spec)
        src = tf.sparse.to_dense(parsed["source_ids"]).numpy().tolist()
        tgt = tf.sparse.to_dense(parsed["target_ids"]).numpy().tolist()
        assert (len(src), len(tgt)) == (parsed["source_length"], parsed["target_length"])
        examples.append((src, tgt))
    return examples


def test_sample_run_writes_the_layout(sample_runs: tuple[Path, Path]) -> None:
    out = sample_runs[0]
    stats = json.loads((out / "stats.json").read_text())
    assert (out / "corpus" / "sample.en").is_file() and (out / "corpus" / "sample.es").is_file()
    assert not (out / ".work").exists()
    for split in SPLITS:
        lines = (out / "text" / f"{split}.en").read_text().splitlines()
        assert len(lines) == len((out / "text" / f"{split}.es").read_text().splitlines())
        assert len(lines) == stats["splits"][split]
    assert sorted(p.name for p in (out / "tfrecords").iterdir()) == [
        "dev-00000-of-00001.tfrecord",
        "test-00000-of-00001.tfrecord",
        "train-00000-of-00002.tfrecord",
        "train-00001-of-00002.tfrecord",
    ]
    model = out / "sentencepiece" / "source.model"
    assert model.read_bytes() == (out / "sentencepiece" / "target.model").read_bytes()
    corpus = stats["corpora"]["sample"]
    assert corpus["input"] == 300 == corpus["kept"] + corpus["rejected"]
    assert sum(stats["splits"].values()) == corpus["kept"]
    assert stats["leakage_removed"] == 0
    assert stats["sentencepiece"]["source_vocab_size"] <= 200


def test_tfrecords_decode_back_to_the_split_text(sample_runs: tuple[Path, Path]) -> None:
    out = sample_runs[0]
    sp = spm.SentencePieceProcessor(model_file=str(out / "sentencepiece" / "source.model"))
    assert (sp.pad_id(), sp.unk_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2, 3)
    for split in SPLITS:
        examples = _read_examples(out, split)
        assert all(2 not in s and 3 not in s and 3 not in t for s, t in examples)
        decoded = Counter((sp.decode(s), sp.decode(t)) for s, t in examples)
        text = zip(
            (out / "text" / f"{split}.en").read_text().splitlines(),
            (out / "text" / f"{split}.es").read_text().splitlines(),
            strict=True,
        )
        assert decoded == Counter(text)


def test_runs_are_deterministic(sample_runs: tuple[Path, Path]) -> None:
    first, second = sample_runs
    names = [f"text/{s}.{lang}" for s in SPLITS for lang in ("en", "es")]
    names += [
        f"sentencepiece/{side}.{ext}" for side in ("source", "target") for ext in ("model", "vocab")
    ]
    names += ["stats.json", "rejects.tsv", "lexical_table.json"]
    names += [str(p.relative_to(first)) for p in sorted(first.glob("tfrecords/*.tfrecord"))]
    assert len(names) == 17
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_outputs_do_not_depend_on_buckets_or_workers(
    sample_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    first = sample_runs[0]
    beam_args = (
        "--runner=FnApiRunner",
        "--direct_num_workers=2",
        "--direct_running_mode=multi_threading",
    )
    config = dataclasses.replace(SAMPLE, shuffle_buckets=7, beam_args=beam_args)
    run_preprocess(config, tmp_path)
    for path in sorted(first.rglob("*")):
        if path.is_file() and path.relative_to(first).parts[0] != "corpus":
            assert (tmp_path / path.relative_to(first)).read_bytes() == path.read_bytes(), path


def _same_models(out: Path, config: SentencePieceConfig, tmp_path: Path) -> None:
    """The run's models equal those trained directly on its written train text."""
    train_sentencepiece(out / "text/train.en", out / "text/train.es", config, tmp_path)
    for name in ("source.model", "source.vocab", "target.model", "target.vocab"):
        assert (tmp_path / name).read_bytes() == (out / "sentencepiece" / name).read_bytes(), name


def test_sentencepiece_models_equal_training_on_the_written_train_text(
    sample_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    _same_models(sample_runs[0], SAMPLE.sentencepiece, tmp_path / "joint")
    # Separate models and a sample smaller than the train split, from 5 buckets.
    sentencepiece = SentencePieceConfig(vocab_size=120, joint=False, max_sentences=150)
    config = dataclasses.replace(SAMPLE, sentencepiece=sentencepiece, shuffle_buckets=5)
    run_preprocess(config, tmp_path / "run")
    stats = json.loads((tmp_path / "run/stats.json").read_text())
    assert stats["sentencepiece"]["training_sentences"] == {"source": 150, "target": 150}
    _same_models(tmp_path / "run", sentencepiece, tmp_path / "separate")
