"""Duplicate removal within a role."""

from __future__ import annotations

from pipeline.dedupe import drop_duplicates

TRAIN = {"a": "train", "b": "train"}


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
