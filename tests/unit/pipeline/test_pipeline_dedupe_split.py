"""Duplicate removal and the hash split."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import SplitConfig
from pipeline.dedupe import DropDuplicates
from pipeline.splitting import LEAKAGE, RemoveLeakageFn, SplitPairs, split_of


def _pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


def test_drop_duplicates_keeps_first_occurrence() -> None:
    records = [
        ("b", 1, "x", "y", ""),
        ("a", 7, "x", "y", ""),
        ("a", 9, "x", "y", ""),
        ("a", 8, "x", "z", ""),
    ]
    with _pipeline() as p:
        out = p | beam.Create(records) | DropDuplicates()
        assert_that(out.kept, equal_to([("a", 7, "x", "y", ""), ("a", 8, "x", "z", "")]))
        expected = [("a", 9, "x", "y", "duplicate"), ("b", 1, "x", "y", "duplicate")]
        assert_that(out.rejected, equal_to(expected), label="CheckRejected")


def test_split_of_is_deterministic_and_follows_fractions() -> None:
    config = SplitConfig(dev_fraction=0.1, test_fraction=0.2, salt="s")
    splits = [split_of(f"sentence {i}", config) for i in range(5000)]
    assert splits == [split_of(f"sentence {i}", config) for i in range(5000)]
    assert abs(splits.count("test") / 5000 - 0.2) < 0.03
    assert abs(splits.count("dev") / 5000 - 0.1) < 0.03
    other_salt = [split_of(f"sentence {i}", SplitConfig(salt="t")) for i in range(200)]
    assert other_salt != splits[:200]


def test_split_pairs_keeps_a_source_in_one_split() -> None:
    config = SplitConfig(dev_fraction=0.3, test_fraction=0.3)
    records = [("c", i, f"src {i % 20}", f"tgt {i}", "") for i in range(100)]
    expected = {
        s: [r for r in records if split_of(r[2], config) == s] for s in ("train", "dev", "test")
    }
    with _pipeline() as p:
        out = p | beam.Create(records) | SplitPairs(config)
        for name in ("train", "dev", "test"):
            assert_that(out[name], equal_to(expected[name]), label=f"Check[{name}]")
        assert_that(out[LEAKAGE], equal_to([]), label="CheckLeakage")


def test_leakage_is_removed_when_a_train_source_is_held_out() -> None:
    fn = RemoveLeakageFn()
    train = [("c", 1, "s", "t", "")]
    leaked = list(fn.process(("s", {"train": train, "heldout": [None]})))
    assert [(o.tag, o.value) for o in leaked] == [(LEAKAGE, ("c", 1, "s", "t", LEAKAGE))]
    assert list(fn.process(("s", {"train": train, "heldout": []}))) == train
