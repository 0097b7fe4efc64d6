"""The assembly of ``stats.json`` from the counts the Beam steps write.

The driver reads the counts back and builds the stats dict, in which every
corpus satisfies ``input == kept + rejected``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from apache_beam.io.filesystems import FileSystems

# Upper bounds of the length-histogram buckets, in SentencePiece pieces.
BUCKET_BOUNDS = (8, 16, 32, 64, 128, 256, 512)
SPLITS = ("train", "dev", "test")
# Counter prefix of the train split's piece totals (``pieces/<standard|sampled>/<side>``),
# written with subword sampling only.
PIECES = "pieces"


def bucket_label(length: int) -> str:
    """The histogram bucket of a length: ``"0-8"``, ``"9-16"``, ..., ``">512"``."""
    lower = 0
    for bound in BUCKET_BOUNDS:
        if length <= bound:
            return f"{lower}-{bound}" if lower == 0 else f"{lower + 1}-{bound}"
        lower = bound
    return f">{BUCKET_BOUNDS[-1]}"


def empty_histogram() -> dict[str, int]:
    """Every bucket with a zero count, in increasing order."""
    return {bucket_label(b): 0 for b in BUCKET_BOUNDS} | {bucket_label(BUCKET_BOUNDS[-1] + 1): 0}


def read_counts(path: str) -> dict[str, int]:
    """The counts a Beam step wrote to the JSON file ``path``."""
    with FileSystems.open(path) as handle:
        data: dict[str, int] = json.loads(handle.read().decode("utf-8"))
    return data


def corpus_stats(counts: Mapping[str, int], names: Iterable[str]) -> dict[str, Any]:
    """Per-corpus ``input``, ``kept``, ``rejected`` and ``rejected_by_reason``.

    Keys in ``counts`` are ``corpus/input``, ``corpus/kept`` and
    ``corpus/rejected/<reason>``.
    """
    stats: dict[str, Any] = {}
    for name in names:
        by_reason = {
            key.rsplit("/", 1)[1]: n
            for key, n in sorted(counts.items())
            if key.startswith(f"{name}/rejected/")
        }
        stats[name] = {
            "input": counts.get(f"{name}/input", 0),
            "kept": counts.get(f"{name}/kept", 0),
            "rejected": sum(by_reason.values()),
            "rejected_by_reason": by_reason,
        }
    return stats


def length_histograms(counts: Mapping[str, int]) -> dict[str, dict[str, dict[str, int]]]:
    """``{split: {side: {bucket: n}}}`` from ``split/side/bucket`` counts."""
    histograms = {s: {"source": empty_histogram(), "target": empty_histogram()} for s in SPLITS}
    for key, n in counts.items():
        split, side, bucket = key.split("/", 2)
        histograms[split][side][bucket] += n
    return histograms


def check_accounting(corpora: Mapping[str, Mapping[str, Any]]) -> None:
    """Raises ``RuntimeError`` if a corpus breaks ``input == kept + rejected``."""
    for name, c in corpora.items():
        if c["input"] != c["kept"] + c["rejected"]:
            raise RuntimeError(
                f"corpus {name!r}: {c['input']} input pairs but {c['kept']} kept "
                f"+ {c['rejected']} rejected"
            )


def sampling_stats(
    pieces: Mapping[str, int], train_pairs: int, copies: int, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``subword_sampling`` section: ``settings``, the number of copies, pairs per copy
    and the mean pieces per train sentence, standard and sampled (over all copies).

    ``pieces`` holds the ``pieces/<standard|sampled>/<side>`` totals.
    """
    per_sentence: dict[str, dict[str, float]] = {}
    for side in ("source", "target"):
        standard = pieces.get(f"{PIECES}/standard/{side}", 0)
        sampled = pieces.get(f"{PIECES}/sampled/{side}", 0)
        per_sentence[side] = {
            "standard": round(standard / max(train_pairs, 1), 4),
            "sampled": round(sampled / max(train_pairs * copies, 1), 4),
        }
    return {
        **settings,
        "copies": copies,
        "pairs_per_copy": train_pairs,
        "pieces_per_sentence": per_sentence,
    }
