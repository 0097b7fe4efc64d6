"""Search on a seeded tiny model: greedy (the reference), beam, and their agreement."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.decoding.beam import beam_search
from seq2seq.decoding.common import (
    ROW_MULTIPLE,
    gnmt_length_penalty,
    max_output_lengths,
)
from seq2seq.decoding.greedy import greedy_search
from seq2seq.model import Seq2Seq

SOURCE = tf.constant([[5, 6, 7, 8, 3], [9, 3, 0, 0, 0], [10, 11, 12, 3, 0]])


def seeded_model() -> Seq2Seq:
    keras.utils.set_random_seed(42)
    # Unscaled Luong scores: the architecture the pinned output was recorded with.
    model = Seq2Seq(16, 12, embedding_size=6, units=8, luong_scale=False)
    model.build_variables()
    # Sharpen the output layer so that the untrained model makes confident choices.
    kernel, bias = model.decoder.output_projection.get_weights()
    model.decoder.output_projection.set_weights([kernel * 4.0, bias])
    return model


def test_greedy_output_is_pinned() -> None:
    model = seeded_model()
    result = greedy_search(model, SOURCE, max_output_lengths(SOURCE, 1.5, 2))
    lengths = result.lengths.numpy()[:, 0].tolist()
    ids = [row[:n] for row, n in zip(result.ids.numpy()[:, 0].tolist(), lengths, strict=True)]
    assert ids == PINNED_GREEDY
    assert result.ids.shape[:2] == (3, 1)


def test_beam_size_one_equals_greedy() -> None:
    model = seeded_model()
    limits = max_output_lengths(SOURCE, 1.5, 2)
    greedy = greedy_search(model, SOURCE, limits)
    beam = beam_search(model, SOURCE, limits, beam_size=1, alpha=0.6)
    np.testing.assert_array_equal(beam.ids.numpy(), greedy.ids.numpy())
    np.testing.assert_array_equal(beam.lengths.numpy(), greedy.lengths.numpy())
    np.testing.assert_allclose(beam.scores.numpy(), greedy.scores.numpy(), rtol=1e-5)


def test_beam_returns_sorted_distinct_hypotheses_within_limits() -> None:
    model = seeded_model()
    limits = max_output_lengths(SOURCE, 1.0, 1)
    result = beam_search(model, SOURCE, limits, beam_size=4, alpha=0.6)
    assert result.ids.shape[:2] == (3, 4)
    normalized = result.normalized.numpy()
    assert np.all(np.diff(normalized, axis=1) <= 1e-6)
    assert np.all(result.lengths.numpy() <= limits.numpy()[:, None])
    for row in result.ids.numpy():
        assert len({tuple(h) for h in row}) == 4
    # Beam search finds a hypothesis at least as good as greedy under its own ranking.
    greedy = greedy_search(model, SOURCE, limits)
    greedy_norm = (
        greedy.scores.numpy()[:, 0]
        / gnmt_length_penalty(greedy.lengths.numpy()[:, 0] + 1, 0.6).numpy()
    )
    assert np.all(normalized[:, 0] >= greedy_norm - 1e-5)


def test_hypotheses_of_a_source_share_its_memory() -> None:
    """A step over ``K`` rows per source equals a step over memory repeated ``K`` times."""
    model = seeded_model()
    memory, state = model.encode(SOURCE)
    rows = tf.nest.map_structure(lambda s: tf.repeat(s, 2, axis=0), state)
    repeated = memory._replace(
        keys=tf.repeat(memory.keys, 2, axis=0),
        values=tf.repeat(memory.values, 2, axis=0),
        mask=tf.repeat(memory.mask, 2, axis=0),
    )
    tokens = tf.constant([1, 4, 5, 6, 7, 8])
    shared = model.step(tokens, rows, memory)
    separate = model.step(tokens, rows, repeated)
    for a, b in zip(tf.nest.flatten(shared), tf.nest.flatten(separate), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def staggered_batch(rows: int = 2 * ROW_MULTIPLE + 4) -> tuple[tf.Tensor, tf.Tensor]:
    """Seeded sources of 1 to 6 pieces whose limits end them at different steps, so the
    batch is compacted (finished rows filling the rounding) several times."""
    rng = np.random.default_rng(7)
    source = np.zeros([rows, 7], np.int32)
    for row in range(rows):
        length = rng.integers(1, 7)
        source[row, :length] = rng.integers(4, 16, size=length)
        source[row, length] = 3  # EOS
    limits = tf.constant([1 + row % 13 for row in range(rows)], tf.int32)
    return tf.constant(source), limits


@pytest.mark.parametrize("batch", ["small", "staggered"])
def test_batched_search_equals_one_source_at_a_time(batch: str) -> None:
    """Sources that finish early leave the batch; each result stays at its own row."""
    model = seeded_model()
    if batch == "small":
        source, limits = SOURCE, max_output_lengths(SOURCE, 1.5, 2)
    else:
        source, limits = staggered_batch()
    for search in (
        lambda src, lim: greedy_search(model, src, lim),
        lambda src, lim: beam_search(model, src, lim, beam_size=3, alpha=0.6),
    ):
        batched = search(source, limits)
        for row in range(source.shape[0]):
            alone = search(source[row : row + 1, :], limits[row : row + 1])
            width = alone.ids.shape[2]
            np.testing.assert_array_equal(batched.ids[row, :, :width].numpy(), alone.ids[0])
            assert not np.any(batched.ids[row, :, width:].numpy())
            np.testing.assert_array_equal(batched.lengths[row].numpy(), alone.lengths[0])
            np.testing.assert_allclose(batched.scores[row], alone.scores[0], rtol=1e-5)


def test_step_traces_with_unknown_shapes() -> None:
    """A step compiled once for any batch, length and width (as the loop baselines do)."""
    model = seeded_model()
    memory, state = model.encode(SOURCE)
    tokens = tf.constant([4, 5, 6])
    relaxed = tf.nest.map_structure(
        lambda t: tf.TensorSpec([None] * t.shape.rank, t.dtype), (tokens, state, memory)
    )
    step = tf.function(model.step, input_signature=list(relaxed))
    compiled, eager = step(tokens, state, memory), model.step(tokens, state, memory)
    np.testing.assert_allclose(compiled[0].numpy(), eager[0].numpy(), rtol=1e-5, atol=1e-6)


def test_bfloat16_search() -> None:
    keras.config.set_dtype_policy("bfloat16")
    try:
        model = seeded_model()
    finally:
        keras.config.set_dtype_policy("float32")
    limits = max_output_lengths(SOURCE, 1.5, 2)
    greedy = greedy_search(model, SOURCE, limits)
    beam = beam_search(model, SOURCE, limits, beam_size=1, alpha=0.6)
    assert greedy.scores.dtype == tf.float32
    assert np.all(greedy.scores.numpy() <= 0) and np.all(greedy.lengths.numpy() > 0)
    np.testing.assert_array_equal(beam.ids.numpy(), greedy.ids.numpy())


def test_search_runs_inside_a_graph() -> None:
    model = seeded_model()

    @tf.function(
        input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([], tf.int32)]
    )
    def search(source: tf.Tensor, beam: tf.Tensor) -> tf.Tensor:
        return beam_search(model, source, max_output_lengths(source, 1.5, 2), beam, 0.6).ids

    eager = beam_search(model, SOURCE, max_output_lengths(SOURCE, 1.5, 2), 3, 0.6).ids
    np.testing.assert_array_equal(search(SOURCE, tf.constant(3)).numpy(), eager.numpy())


PINNED_GREEDY = [[10, 5, 5, 5, 5, 5, 5, 5, 5], [8, 10, 10, 10], [1, 1, 11, 1]]
