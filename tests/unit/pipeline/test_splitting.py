"""The hash split, given dev and test files, and leakage removal."""

from __future__ import annotations

from pipeline.config import InputConfig, SplitConfig
from pipeline.splitting import LEAKAGE, assign_splits, split_of

TRAIN = {"a": "train", "b": "train"}


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
