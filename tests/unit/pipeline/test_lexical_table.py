"""The lexical table: its estimates on a toy corpus, and the Beam step's bytes across workers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import writers
from pipeline.config import (
    InputConfig,
    LexicalTableConfig,
    PreprocessConfig,
    SentencePieceConfig,
    SplitConfig,
)
from pipeline.lexical_estimates import (
    count_pairs,
    dice_scores,
    expected_counts,
    frequency_ranking,
    initial_probs,
    normalize_by_source,
    rank_candidates,
)
from pipeline.preprocess import run_preprocess

# Source 10 means target 20, 11 means 21, 12 means 22; target 30 comes with everything.
TOY = [([10, 11], [20, 21, 30]), ([10, 12], [20, 22, 30]), ([11, 12], [21, 22, 30]), ([10], [20])]


def toy_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.array(s, np.int32), np.array(t, np.int32)) for s, t in TOY]


def ibm1(pairs: list, iterations: int) -> list[list[int]]:
    counts = count_pairs(pairs)
    probs = initial_probs(counts.keys)
    for _ in range(iterations):
        probs = normalize_by_source(counts.keys, expected_counts(pairs, counts.keys, probs))
    return rank_candidates(counts.keys, probs, 1)


def test_both_estimates_find_the_translations_of_a_toy_corpus() -> None:
    pairs = toy_pairs()
    counts = count_pairs(pairs)
    assert rank_candidates(counts.keys, dice_scores(counts), 1)[10:] == [[20], [21], [22]]
    assert ibm1(pairs, 5)[10:] == [[20], [21], [22]]
    assert frequency_ranking(counts.target_tokens) == [20, 30, 21, 22]  # ties: lower id
    # Sentence counts, not token counts: (10, 20) co-occurs in three sentences.
    key = (10 + 1) << 20 | 20
    assert counts.pairs[np.searchsorted(counts.keys, key)] == 3


def test_empty_sides_count_nothing() -> None:
    pairs = [(np.array([], np.int32), np.array([5], np.int32)), *toy_pairs()]
    assert ibm1(pairs, 2)[10:] == ibm1(toy_pairs(), 2)[10:]


def test_the_table_is_the_same_bytes_for_one_worker_and_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    method = "ibm1"  # Dice's pass is ibm1's first one, without the EM passes
    monkeypatch.setattr(writers, "ENCODE_CHUNK_LINES", 60)  # several id parts to sum
    config = PreprocessConfig(
        source_lang="en",
        target_lang="es",
        inputs=(InputConfig(name="sample", format="sample", pairs=300, seed=3),),
        split=SplitConfig(dev_fraction=0.1, test_fraction=0.1),
        sentencepiece=SentencePieceConfig(vocab_size=200),
        lexical_table=LexicalTableConfig(method=method, iterations=3, top_k=5),
    )
    stats = run_preprocess(config, tmp_path / "one")
    threads = ("--runner=FnApiRunner", "--direct_num_workers=2")
    run_preprocess(
        dataclasses.replace(config, beam_args=(*threads, "--direct_running_mode=multi_threading")),
        tmp_path / "two",
    )
    table = (tmp_path / "one" / "lexical_table.json").read_bytes()
    assert (tmp_path / "two" / "lexical_table.json").read_bytes() == table
    parsed = json.loads(table)
    assert parsed["method"] == method and parsed["top_k"] == 5
    assert max(len(c) for c in parsed["candidates"]) == 5
    assert stats["lexical_table"]["source_pieces"] == sum(1 for c in parsed["candidates"] if c)
    complete = json.loads((tmp_path / "one" / "complete.json").read_text())
    assert "lexical_table.json" in json.dumps(complete)
