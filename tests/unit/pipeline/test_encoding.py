"""SentencePiece models with fixed special ids, and the encoding DoFn."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
import sentencepiece as spm
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline

from core.contract import DataLayout
from pipeline import writers
from pipeline.config import SentencePieceConfig
from pipeline.encoding import EncodeSplits, make_example, shard_of
from pipeline.recordio import write_records
from pipeline.stats import read_counts
from pipeline.subwords import train_sentencepiece

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "eats",
    "sees",
    "big",
    "small",
    "red",
    "house",
    "car",
    "tree",
    "el",
    "la",
    "gato",
    "perro",
    "come",
    "ve",
]


def _pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spm")
    lines = [" ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 7)) for i in range(300)]
    (root / "train.src").write_text("\n".join(lines) + "\n")
    (root / "train.tgt").write_text("\n".join(reversed(lines)) + "\n")
    config = SentencePieceConfig(vocab_size=60, joint=False, user_defined_symbols=("<sep>",))
    stats = train_sentencepiece(root / "train.src", root / "train.tgt", config, root)
    assert stats["training_sentences"] == {"source": 300, "target": 300}
    return root


def test_models_have_fixed_special_ids(models: Path) -> None:
    sp = spm.SentencePieceProcessor(model_file=str(models / "source.model"))
    assert (sp.pad_id(), sp.unk_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2, 3)
    assert sp.piece_to_id("<sep>") == 4
    assert (models / "source.vocab").read_text().splitlines()[4].startswith("<sep>\t")


def _write_text(layout: DataLayout, split: str, pairs: list[tuple[str, str]]) -> list:
    part = layout.work("text", f"{split}.pkl")
    write_records(part, sorted(pairs))
    return writers.write_split_text([part], *layout.texts(split))


def test_encode_splits_writes_sharded_tfrecords_in_text_order(
    models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tensorflow as tf

    monkeypatch.setattr(writers, "ENCODE_CHUNK_LINES", 2)
    layout = DataLayout(str(tmp_path), "src", "tgt")
    for side in ("source", "target"):
        (tmp_path / "sentencepiece").mkdir(exist_ok=True)
        (tmp_path / "sentencepiece" / f"{side}.model").write_bytes(
            (models / f"{side}.model").read_bytes()
        )
    pairs = [(f"the {w} eats", f"el {w} come") for w in WORDS[:7]]
    index = {"train": _write_text(layout, "train", pairs), "dev": [], "test": []}
    index["dev"] = _write_text(layout, "dev", pairs[:1])
    _write_text(layout, "test", [])
    assert [c[0] for c in index["train"]] == [2, 2, 2, 1]
    with _pipeline() as p:
        _ = p | beam.Create([index]) | EncodeSplits(layout, num_shards=2)
    sp_src = spm.SentencePieceProcessor(model_file=str(models / "source.model"))
    sp_tgt = spm.SentencePieceProcessor(model_file=str(models / "target.model"))
    for shard in range(2):
        path = layout.tfrecord("train", shard, 2)
        records = [r.numpy() for r in tf.data.TFRecordDataset(path)]
        expected = [
            make_example(sp_src.encode(s), sp_tgt.encode(t))
            for s, t in sorted(pairs)
            if shard_of(s, t, 2) == shard
        ]
        assert records == expected
    assert [r.numpy() for r in tf.data.TFRecordDataset(layout.tfrecord("dev", 0, 1))] == [
        make_example(sp_src.encode(pairs[0][0]), sp_tgt.encode(pairs[0][1]))
    ]
    assert (tmp_path / "tfrecords" / "test-00000-of-00001.tfrecord").read_bytes() == b""
    lengths = read_counts(layout.work("length_counts.json"))
    assert sum(n for key, n in lengths.items() if key.startswith("train/source/")) == 7
