"""The lexical table: each source piece's most likely target pieces, from the encoded train split.

The encoding step writes each train chunk's piece ids to a part file
(``write_id_part``). ``LexicalTable`` then runs, as Beam steps: a counting
pass over the parts (in parallel) and a merge; with ``method: ibm1``,
``iterations`` passes of IBM Model 1's expected counts (in parallel), each
summed in part order and normalised by one step; finally one step ranks
every source piece's ``top_k`` targets and writes ``lexical_table.json`` (with
its parameters and every target piece by frequency) and its stats. Parts are
summed in part order, so the table is the same bytes on every runner and
worker count. Memory per step: one part (a text chunk) and the sparse tables
over the distinct co-occurring pairs (``pipeline.lexical_estimates``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems

from core.contract import DataLayout
from pipeline.config import LexicalTableConfig
from pipeline.lexical_estimates import (
    Counts,
    Pair,
    count_pairs,
    dice_scores,
    expected_counts,
    frequency_ranking,
    initial_probs,
    key_source,
    merge_counts,
    normalize_by_source,
    rank_candidates,
)
from pipeline.manifest import Gather
from pipeline.writers import write_json

STATS_PART = "lexical_table.json"  # under .work/: the table's stats for stats.json
Task = tuple[int, str, str]  # part number, id part file, the step's own file


def save_arrays(path: str, *arrays: np.ndarray) -> None:
    """Write ``arrays`` (``.npy`` records one after another) to ``path``."""
    buffer = io.BytesIO()
    for array in arrays:
        np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    with FileSystems.create(path) as handle:
        handle.write(buffer.getvalue())


def load_arrays(path: str) -> list[np.ndarray]:
    """The arrays ``save_arrays`` wrote to ``path``."""
    with FileSystems.open(path) as handle:
        buffer = io.BytesIO(handle.read())
    arrays = []
    while buffer.tell() < len(buffer.getbuffer()):
        arrays.append(np.lib.format.read_array(buffer, allow_pickle=False))
    return arrays


def write_id_part(
    path: str, source_ids: Sequence[Sequence[int]], target_ids: Sequence[Sequence[int]]
) -> None:
    """One chunk's encoded pairs: lengths ``[n, 2]`` and both sides' flat ids (int32)."""
    lengths = np.array(
        [[len(s), len(t)] for s, t in zip(source_ids, target_ids, strict=True)], np.int64
    )
    flat = [
        np.fromiter((i for ids in side for i in ids), np.int32) for side in (source_ids, target_ids)
    ]
    save_arrays(path, lengths.reshape(-1, 2), *flat)


def read_id_part(path: str) -> list[Pair]:
    """The pairs ``write_id_part`` wrote."""
    lengths, sources, targets = load_arrays(path)
    cuts = [np.cumsum(lengths[:, side])[:-1] for side in (0, 1)]
    return list(zip(np.split(sources, cuts[0]), np.split(targets, cuts[1]), strict=True))


def _tasks(parts: list[str], step_file: str) -> Iterator[Task]:
    for number, path in enumerate(parts):
        yield number, path, step_file


def _count(task: Task, layout: DataLayout) -> Task:
    number, path, _ = task
    counts = count_pairs(read_id_part(path))
    out = layout.work("lexical", f"counts-{number:06d}.npy")
    save_arrays(
        out,
        counts.keys,
        counts.pairs,
        counts.source_sentences,
        counts.target_sentences,
        counts.target_tokens,
    )
    return number, path, out


def _merge_counts(tasks: list[Task], layout: DataLayout) -> tuple[list[str], str]:
    """Sum every part's counts; returns the id parts and the merged counts' file."""
    tasks = sorted(tasks)
    total = Counts(*(np.zeros(0, np.int64),) * 5)
    for _, _, path in tasks:
        total = merge_counts(total, Counts(*load_arrays(path)))
    out = layout.work("lexical", "counts.npy")
    save_arrays(
        out,
        total.keys,
        total.pairs,
        total.source_sentences,
        total.target_sentences,
        total.target_tokens,
    )
    probs = layout.work("lexical", "probs-0.npy")
    save_arrays(probs, initial_probs(total.keys))
    return [path for _, path, _ in tasks], out


def _with_probs(state: tuple[list[str], str], iteration: int, layout: DataLayout) -> Iterator[Task]:
    parts, _ = state
    yield from _tasks(parts, layout.work("lexical", f"probs-{iteration}.npy"))


def _expect(task: Task, iteration: int, layout: DataLayout) -> Task:
    number, path, probs_path = task
    keys = load_arrays(layout.work("lexical", "counts.npy"))[0]
    (probs,) = load_arrays(probs_path)
    out = layout.work("lexical", f"expected-{iteration}-{number:06d}.npy")
    save_arrays(out, expected_counts(read_id_part(path), keys, probs))
    return number, path, out


def _maximize(tasks: list[Task], iteration: int, layout: DataLayout) -> tuple[list[str], str]:
    """Sum the expected counts in part order and normalise them into the next table."""
    tasks = sorted(tasks)
    keys = load_arrays(layout.work("lexical", "counts.npy"))[0]
    total = np.zeros(keys.size, np.float64)
    for _, _, path in tasks:
        total += load_arrays(path)[0]
    out = layout.work("lexical", f"probs-{iteration + 1}.npy")
    save_arrays(out, normalize_by_source(keys, total))
    return [path for _, path, _ in tasks], out


def _write_table(
    state: tuple[list[str], str], config: LexicalTableConfig, layout: DataLayout
) -> None:
    """Rank and write ``lexical_table.json`` and its stats."""
    counts = Counts(*load_arrays(layout.work("lexical", "counts.npy")))
    if config.method == "dice":
        scores = dice_scores(counts)
    else:
        (scores,) = load_arrays(layout.work("lexical", f"probs-{config.iterations}.npy"))
    candidates = rank_candidates(counts.keys, scores, config.top_k)
    frequent = frequency_ranking(counts.target_tokens)
    table = {
        "method": config.method,
        "iterations": config.iterations if config.method == "ibm1" else 0,
        "top_k": config.top_k,
        "candidates": candidates,
        "frequent": frequent,
    }
    with FileSystems.create(layout.lexical_table) as handle:
        handle.write((json.dumps(table, separators=(",", ":")) + "\n").encode("utf-8"))
    stats = {k: v for k, v in table.items() if k not in ("candidates", "frequent")}
    stats |= {
        "pairs": int(np.count_nonzero(key_source(counts.keys) >= 0)),
        "source_pieces": sum(1 for c in candidates if c),
        "target_pieces": len(frequent),
    }
    write_json(layout.work(STATS_PART), stats)


class LexicalTable(beam.PTransform):
    """The train split's id parts (one element: their paths, in chunk order) →
    ``lexical_table.json`` and its stats."""

    def __init__(self, config: LexicalTableConfig, layout: DataLayout) -> None:
        super().__init__()
        self._config, self._layout = config, layout

    def expand(self, parts: beam.PCollection) -> beam.PCollection:
        layout = self._layout
        state = (
            parts
            | "ListIdParts" >> beam.FlatMap(_tasks, "")
            | "SpreadIdParts" >> beam.Reshuffle()
            | "CountPairs" >> beam.Map(_count, layout)
            | "GatherCounts" >> Gather()
            | "MergeCounts" >> beam.Map(_merge_counts, layout)
        )
        iterations = self._config.iterations if self._config.method == "ibm1" else 0
        for i in range(iterations):
            state = (
                state
                | f"ListParts{i}" >> beam.FlatMap(_with_probs, i, layout)
                | f"SpreadParts{i}" >> beam.Reshuffle()
                | f"ExpectedCounts{i}" >> beam.Map(_expect, i, layout)
                | f"GatherExpected{i}" >> Gather()
                | f"Normalize{i}" >> beam.Map(_maximize, i, layout)
            )
        return state | "WriteTable" >> beam.Map(_write_table, self._config, layout)
