"""The bucketed clean step: bucket numbers, sorted parts and counts."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from core.contract import DataLayout
from pipeline.buckets import CleanAndSplit, bucket_of
from pipeline.config import CleaningConfig, SplitConfig
from pipeline.manifest import COUNT, PART, REJECTS, TEXT, sum_counts
from pipeline.readers import FileTask
from pipeline.recordio import read_records


def _pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


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
