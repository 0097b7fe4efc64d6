"""Exact-duplicate removal of normalized pairs, within one bucket of the clean step.

Pairs are bucketed by their source, so every copy of a pair is in the same
bucket. Copies count as duplicates only within the same role: train corpora
together, given dev files together, given test files together (a dev pair that
also occurs in train is leakage, handled by the split, not a duplicate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pipeline.readers import Record

DUPLICATE = "duplicate"


def drop_duplicates(
    records: Iterable[Record], roles: Mapping[str, str]
) -> tuple[list[Record], list[Record]]:
    """``(kept, rejected)``: the first copy (lowest ``(corpus, line)``) of each pair is kept.

    ``roles`` maps each corpus to ``train``, ``dev`` or ``test``; rejected
    copies carry the reason ``duplicate``.
    """
    seen: set[tuple[str, str, str]] = set()
    kept, rejected = [], []
    for record in sorted(records, key=lambda r: (r[0], r[1])):
        corpus, line, source, target, _reason = record
        key = (roles[corpus], source, target)
        if key in seen:
            rejected.append((corpus, line, source, target, DUPLICATE))
        else:
            seen.add(key)
            kept.append(record)
    return kept, rejected
