"""SentencePiece training and the encoding DoFn."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
import sentencepiece as spm
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import SentencePieceConfig
from pipeline.encoding import EncodePairs, make_example
from pipeline.stats import bucket_label
from pipeline.subwords import train_sentencepiece, training_sample
from pipeline.tfexample import serialize_int64_example

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


def test_training_sample_is_bounded_and_order_independent(tmp_path: Path) -> None:
    lines = [f"line {i}" for i in range(100)]
    (tmp_path / "a").write_text("\n".join(lines) + "\n")
    (tmp_path / "b").write_text("\n".join(reversed(lines)) + "\n")
    sample = training_sample([tmp_path / "a"], 10)
    assert len(sample) == 10
    assert sample == training_sample([tmp_path / "b"], 10)


def test_int64_example_matches_tensorflow() -> None:
    import tensorflow as tf

    features = {"ids": [0, 5, 300, 2**40], "empty": [], "neg": [-3]}
    feature = {
        k: tf.train.Feature(int64_list=tf.train.Int64List(value=v)) for k, v in features.items()
    }
    parsed = tf.train.Example.FromString(serialize_int64_example(features))
    assert parsed == tf.train.Example(features=tf.train.Features(feature=feature))


def test_encode_pairs_emits_examples_and_lengths(models: Path) -> None:
    src_model, tgt_model = str(models / "source.model"), str(models / "target.model")
    pairs = [("the cat eats", "el gato come"), ("a big red house", "la casa")]
    sp_src = spm.SentencePieceProcessor(model_file=src_model)
    sp_tgt = spm.SentencePieceProcessor(model_file=tgt_model)
    expected = [make_example(sp_src.encode(s), sp_tgt.encode(t)) for s, t in pairs]
    lengths = [
        f"dev/{side}/{bucket_label(len(sp.encode(text)))}"
        for pair in pairs
        for side, sp, text in zip(("source", "target"), (sp_src, sp_tgt), pair, strict=True)
    ]
    with _pipeline() as p:
        out = p | beam.Create(pairs) | EncodePairs(src_model, tgt_model, "dev")
        assert_that(out.examples, equal_to(expected))
        assert_that(out.lengths, equal_to(lengths), label="CheckLengths")
