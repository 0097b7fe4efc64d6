"""Lexical shortlists: the union per batch, and searches over it on a seeded tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from core.contract import EOS_ID, UNK_ID
from seq2seq.decoding.beam import beam_search
from seq2seq.decoding.common import max_output_lengths
from seq2seq.decoding.greedy import greedy_search
from seq2seq.model import Seq2Seq
from seq2seq.shortlist import (
    SPECIAL_IDS,
    Shortlist,
    ShortlistedModel,
    ShortlistError,
    full_table,
    read_table,
)

SOURCE_VOCAB, TARGET_VOCAB = 20, 30
SOURCE = tf.constant([[5, 6, 7, 8, 3], [9, 3, 0, 0, 0], [10, 11, 12, 3, 0], [3, 0, 0, 0, 0]])


def seeded_model(tied: bool) -> Seq2Seq:
    keras.utils.set_random_seed(7)
    model = Seq2Seq(SOURCE_VOCAB, TARGET_VOCAB, embedding_size=6, units=8, tie_embeddings=tied)
    model.build_variables()
    return model


def searches(model: Seq2Seq, shortlist: Shortlist | None, beam: int) -> tuple[list, list]:
    limits = max_output_lengths(SOURCE, 1.5, 3)
    search_model, pieces = model, None
    if shortlist is not None:
        pieces = shortlist.pieces(SOURCE, beam + 2)
        search_model = ShortlistedModel(model, pieces)  # type: ignore[assignment]
    if beam == 1:
        result = greedy_search(search_model, SOURCE, limits, pieces)
    else:
        result = beam_search(search_model, SOURCE, limits, beam, 0.6, pieces)
    return result.ids.numpy().tolist(), result.scores.numpy().tolist()


@pytest.mark.parametrize("tied", [False, True])
def test_a_table_of_the_whole_vocabulary_gives_the_full_search_exactly(tied: bool) -> None:
    model = seeded_model(tied)
    shortlist = Shortlist(*full_table(SOURCE_VOCAB, TARGET_VOCAB), TARGET_VOCAB)
    for beam in (1, 4):
        assert searches(model, shortlist, beam) == searches(model, None, beam)


def partial_shortlist() -> Shortlist:
    rng = np.random.default_rng(3)
    candidates = rng.integers(4, TARGET_VOCAB, size=[SOURCE_VOCAB, 3]).astype(np.int32)
    return Shortlist(candidates, np.array([*SPECIAL_IDS, 4], np.int32), TARGET_VOCAB)


def test_searches_choose_only_shortlisted_pieces_and_beam_one_is_greedy() -> None:
    model, shortlist = seeded_model(False), partial_shortlist()
    allowed = set(shortlist.pieces(SOURCE, 4 + 2).numpy().tolist())  # as beam 4 asks
    greedy_ids, greedy_scores = searches(model, shortlist, 1)
    limits = max_output_lengths(SOURCE, 1.5, 3)
    pieces = shortlist.pieces(SOURCE, 3)
    one = beam_search(ShortlistedModel(model, pieces), SOURCE, limits, 1, 0.6, pieces)
    assert one.ids.numpy().tolist() == greedy_ids
    np.testing.assert_allclose(one.scores.numpy(), greedy_scores, rtol=1e-5)
    four, _ = searches(model, shortlist, 4)
    used = {i for rows in (greedy_ids, four) for row in rows for hyp in row for i in hyp}
    assert used - {0} <= allowed


def test_the_union_holds_the_specials_and_never_exceeds_the_vocabulary() -> None:
    shortlist = partial_shortlist()
    unknown = tf.constant([[UNK_ID, SOURCE_VOCAB + 5, EOS_ID, 0]])  # beyond the table: no rows
    for source in (SOURCE, unknown, tf.constant([[EOS_ID, 0]]), tf.constant([[7, EOS_ID]])):
        pieces = shortlist.pieces(source).numpy().tolist()
        assert pieces[:4] == list(SPECIAL_IDS) and pieces == sorted(set(pieces))
        assert len(pieces) <= TARGET_VOCAB and max(pieces) < TARGET_VOCAB
    assert len(shortlist.pieces(tf.constant([[EOS_ID]]), 100).numpy()) == TARGET_VOCAB
    whole = Shortlist(*full_table(SOURCE_VOCAB, TARGET_VOCAB), TARGET_VOCAB)
    assert whole.pieces(SOURCE).numpy().tolist() == list(range(TARGET_VOCAB))


def test_read_table_takes_the_first_top_k_and_frequent(tmp_path: Path) -> None:
    path = tmp_path / "lexical_table.json"
    table = {"top_k": 3, "candidates": [[], [9, 8, 7], [5]], "frequent": [6, 4, 9]}
    path.write_text(json.dumps(table), encoding="utf-8")
    rows, always = read_table(path, 2, 1, SOURCE_VOCAB, TARGET_VOCAB)
    assert rows.shape == (SOURCE_VOCAB, 2)
    assert rows[:3].tolist() == [[0, 0], [9, 8], [5, 0]] and not rows[3:].any()
    assert always.tolist() == [*SPECIAL_IDS, 6]
    with pytest.raises(ShortlistError, match="fewer than"):
        read_table(path, 4, 1, SOURCE_VOCAB, TARGET_VOCAB)
    with pytest.raises(ShortlistError, match="beyond the model's vocabulary"):
        read_table(path, 2, 1, SOURCE_VOCAB, 8)
    with pytest.raises(ShortlistError, match="no lexical table"):
        read_table(tmp_path / "missing.json", 2, 1, SOURCE_VOCAB, TARGET_VOCAB)
