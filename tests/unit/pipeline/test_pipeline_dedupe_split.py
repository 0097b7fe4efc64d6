"""Duplicate removal, the hash split, leakage, and the bucketed clean step."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from core.contract import DataLayout
from pipeline.buckets import CleanAndSplit, bucket_of
from pipeline.config import CleaningConfig, InputConfig, SplitConfig
from pipeline.dedupe import drop_duplicates
from pipeline.manifest import COUNT, PART, REJECTS, TEXT, sum_counts
from pipeline.readers import FileTask
from pipeline.recordio import read_records
from pipeline.splitting import LEAKAGE, assign_splits, split_of

TRAIN = {"a": "train", "b": "train"}


def _pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


def test_drop_duplicates_keeps_first_occurrence_within_a_role() -> None:
    records = [
        ("b", 1, "x", "y", ""),
        ("a", 7, "x", "y", ""),
        ("a", 9, "x", "y", ""),
        ("a", 8, "x", "z", ""),
        ("d", 1, "x", "y", ""),
    ]
    kept, rejected = drop_duplicates(records, TRAIN | {"d": "dev"})
    assert kept == [("a", 7, "x", "y", ""), ("a", 8, "x", "z", ""), ("d", 1, "x", "y", "")]
    assert rejected == [("a", 9, "x", "y", "duplicate"), ("b", 1, "x", "y", "duplicate")]


def test_split_of_is_deterministic_and_follows_fractions() -> None:
    config = SplitConfig(dev_fraction=0.1, test_fraction=0.2, salt="s")
    splits = [split_of(f"sentence {i}", config) for i in range(5000)]
    assert splits == [split_of(f"sentence {i}", config) for i in range(5000)]
    assert abs(splits.count("test") / 5000 - 0.2) < 0.03
    assert abs(splits.count("dev") / 5000 - 0.1) < 0.03
    other_salt = [split_of(f"sentence {i}", SplitConfig(salt="t")) for i in range(200)]
    assert other_salt != splits[:200]


def test_given_dev_files_replace_the_hashed_dev_split() -> None:
    dev = InputConfig(name="dev", source="d.en", target="d.es")
    config = SplitConfig(dev_fraction=0.5, test_fraction=0.2, dev_inputs=(dev,))
    splits = {split_of(f"sentence {i}", config) for i in range(500)}
    assert splits == {"train", "test"}


def test_assign_splits_keeps_a_source_in_one_split() -> None:
    config = SplitConfig(dev_fraction=0.3, test_fraction=0.3)
    records = [("a", i, f"src {i % 20}", f"tgt {i}", "") for i in range(100)]
    splits, leaked = assign_splits(records, TRAIN, config)
    for name, split_records in splits.items():
        assert split_records == [r for r in records if split_of(r[2], config) == name]
    assert leaked == []


def test_leakage_removes_train_pairs_whose_source_is_in_given_dev_or_test() -> None:
    config = SplitConfig(dev_fraction=0.0, test_fraction=0.0)
    roles = {"a": "train", "d": "dev", "t": "test"}
    records = [
        ("a", 1, "seen in dev", "x", ""),
        ("a", 2, "only train", "y", ""),
        ("a", 3, "seen in test", "z", ""),
        ("d", 1, "seen in dev", "other", ""),
        ("t", 1, "seen in test", "z", ""),
    ]
    splits, leaked = assign_splits(records, roles, config)
    assert splits == {
        "train": [("a", 2, "only train", "y", "")],
        "dev": [("d", 1, "seen in dev", "other", "")],
        "test": [("t", 1, "seen in test", "z", "")],
    }
    assert leaked == [("a", 1, "seen in dev", "x", LEAKAGE), ("a", 3, "seen in test", "z", LEAKAGE)]


def test_bucket_of_is_stable() -> None:
    assert bucket_of("hello", 7) == bucket_of("hello", 7) == 2
    assert {bucket_of(f"s{i}", 4) for i in range(100)} == {0, 1, 2, 3}


def test_clean_and_split_writes_sorted_parts_and_counts(tmp_path: Path) -> None:
    (tmp_path / "c.tsv").write_text("b\tB\n\tE\na\tA\nb\tB\nz\tZ\n")
    task = FileTask("c", 1, (str(tmp_path / "c.tsv"),), offsets=(), lines=5, tsv=True)
    layout = DataLayout(str(tmp_path / "out"), "en", "es")
    config = SplitConfig(dev_fraction=0.0, test_fraction=0.0)
    step = CleanAndSplit(CleaningConfig(), config, {"c": "train"}, layout, buckets=2)
    expected_counts = {
        "c/input": 5,
        "c/kept": 3,
        "c/rejected/duplicate": 1,
        "c/rejected/empty_source": 1,
        "train": 3,
    }

    def check(entries: list) -> None:
        assert not [e for e in entries if e[0] == PART]
        assert sum_counts(e for e in entries if e[0] == COUNT) == expected_counts
        texts = sorted(p for kind, split, p in entries if kind == TEXT and split == "train")
        pairs = sorted(pair for path in texts for pair in read_records(path))
        assert pairs == [("a", "A"), ("b", "B"), ("z", "Z")]
        for path in texts:
            assert list(read_records(path)) == sorted(read_records(path))
        rejects = [r for kind, _, p in entries if kind == REJECTS for r in read_records(p)]
        assert sorted(rejects) == [
            ("c", 2, "", "E", "empty_source"),
            ("c", 4, "b", "B", "duplicate"),
        ]

    with _pipeline() as p:
        entries = p | beam.Create([(0, task)]) | step
        assert_that(entries, check)
        assert_that(
            entries | "Kinds" >> beam.Map(lambda e: e[0]) | beam.Distinct(),
            equal_to([COUNT, TEXT, REJECTS]),
            label="CheckKinds",
        )
