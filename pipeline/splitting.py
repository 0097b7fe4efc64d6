"""Deterministic train/dev/test split keyed on the cleaned source sentence.

A pair of a hash-split corpus lands in the split given by ``sha256(salt,
source)`` only, so every occurrence of a source sentence lands in the same
split. Pairs of the given dev/test files (``split.dev_inputs`` /
``split.test_inputs``) are that split. Train pairs whose source occurs in dev
or test are then removed as ``leakage``. Pairs are bucketed by source, so this
check is complete within one bucket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from core.contract import SPLITS
from pipeline.config import SplitConfig
from pipeline.readers import Record

LEAKAGE = "leakage"

__all__ = ["LEAKAGE", "SPLITS", "assign_splits", "split_of"]


def split_of(source: str, config: SplitConfig) -> str:
    """The hash split (``train``, ``dev`` or ``test``) of a cleaned source sentence.

    Dev or test fractions are 0 when that split comes from given files.
    """
    digest = hashlib.sha256(f"{config.salt}\x00{source}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    if position < config.hash_test_fraction:
        return "test"
    if position < config.hash_test_fraction + config.hash_dev_fraction:
        return "dev"
    return "train"


def assign_splits(
    records: Iterable[Record], roles: Mapping[str, str], config: SplitConfig
) -> tuple[dict[str, list[Record]], list[Record]]:
    """``({split: records}, leaked)``; leaked train records carry the reason ``leakage``.

    ``roles`` maps each corpus to ``train`` (hash split), ``dev`` or ``test``.
    """
    splits: dict[str, list[Record]] = {s: [] for s in SPLITS}
    candidates: list[Record] = []
    for record in records:
        role = roles[record[0]]
        split = split_of(record[2], config) if role == "train" else role
        (candidates if split == "train" else splits[split]).append(record)
    held_out = {r[2] for s in ("dev", "test") for r in splits[s]}
    leaked = []
    for corpus, line, source, target, reason in candidates:
        if source in held_out:
            leaked.append((corpus, line, source, target, LEAKAGE))
        else:
            splits["train"].append((corpus, line, source, target, reason))
    return splits, leaked
