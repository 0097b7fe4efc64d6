"""The model: shapes, masking, embeddings, bridges and ``get_config`` for every option."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.layers.encoder import Encoder
from seq2seq.model import Seq2Seq

SOURCE = tf.constant([[5, 6, 7, 3], [8, 3, 0, 0]])


TARGET_IN = tf.constant([[2, 9, 10], [2, 11, 0]])


def tiny(**options: object) -> Seq2Seq:
    keras.utils.set_random_seed(0)
    settings = {"embedding_size": 8, "units": 12, **options}
    model = Seq2Seq(20, 24, **settings)  # type: ignore[arg-type]
    model.build_variables()
    return model


OPTIONS = [
    *itertools.product(["lstm", "gru"], ["luong", "bahdanau"], [True, False], [True], [1]),
    ("lstm", "luong", True, False, 2),
    ("gru", "bahdanau", False, True, 3),
]


@pytest.mark.parametrize(("cell", "attention", "bidirectional", "input_feeding", "layers"), OPTIONS)
def test_shapes_for_every_option(
    cell: str, attention: str, bidirectional: bool, input_feeding: bool, layers: int
) -> None:
    model = tiny(
        cell=cell,
        attention=attention,
        bidirectional=bidirectional,
        input_feeding=input_feeding,
        encoder_layers=layers,
        decoder_layers=layers,
    )
    logits = model((SOURCE, TARGET_IN), training=True)
    assert logits.shape == (2, 3, 24)
    memory, state = model.encode(SOURCE)
    values, mask = memory.values, memory.mask
    assert values.shape == (2, 4, 24 if bidirectional else 12)
    assert mask.numpy().tolist() == [[True] * 4, [True, True, False, False]]
    per_layer = 2 if cell == "lstm" else 1
    assert len(state) == per_layer * layers + 1
    step_logits, new_state, weights = model.step(tf.constant([2, 2]), state, memory)
    assert step_logits.shape == (2, 24)
    np.testing.assert_allclose(weights.numpy().sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(weights.numpy()[1, 2:] == 0.0)
    assert len(new_state) == len(state)


def test_source_padding_does_not_change_outputs() -> None:
    model = tiny()
    short = model((tf.constant([[8, 3]]), tf.constant([[2, 11]])))
    padded = model((tf.constant([[8, 3, 0, 0, 0]]), tf.constant([[2, 11]])))
    np.testing.assert_allclose(short.numpy(), padded.numpy(), atol=1e-5)


@pytest.mark.parametrize(
    ("cell", "attention", "input_feeding", "layers"),
    [("gru", "bahdanau", True, 1), ("lstm", "luong", False, 2), ("gru", "luong", False, 1)],
)
def test_teacher_forcing_equals_step_by_step(
    cell: str, attention: str, input_feeding: bool, layers: int
) -> None:
    model = tiny(cell=cell, attention=attention, input_feeding=input_feeding, decoder_layers=layers)
    logits = model((SOURCE, TARGET_IN)).numpy()
    memory, state = model.encode(SOURCE)
    for t in range(TARGET_IN.shape[1]):
        step_logits, state, _ = model.step(TARGET_IN[:, t], state, memory)
        np.testing.assert_allclose(step_logits.numpy(), logits[:, t], atol=1e-5)


def test_tied_and_shared_embeddings() -> None:
    keras.utils.set_random_seed(0)
    model = Seq2Seq(24, 24, embedding_size=8, units=12, tie_embeddings=True, share_embeddings=True)
    model.build_variables()
    assert model.encoder.embedding is model.decoder.embedding
    names = [v.path for v in model.trainable_variables]
    assert sum("embeddings" in n for n in names) == 1
    assert not any("output_projection/kernel" in n for n in names)
    logits = model((SOURCE, TARGET_IN), training=True)
    assert logits.shape == (2, 3, 24)
    untied = tiny()
    assert model.count_params() < untied.count_params()
    with pytest.raises(ValueError, match="one joint vocabulary"):
        Seq2Seq(20, 24, share_embeddings=True)


@pytest.mark.parametrize(("cell", "layers"), [("lstm", 1), ("gru", 2)])
def test_bridges(cell: str, layers: int) -> None:
    """``backward`` reads the backward encoder's state at the first source token, ``final``
    both directions' final states, ``zero`` nothing."""
    encoder = Encoder(20, 8, 12, cell=cell, num_layers=layers, final_state="both")
    memory, _, both = encoder(SOURCE)
    assert both.shape == (2, 24)
    backward = Encoder.from_config({**encoder.get_config(), "final_state": "backward"})
    backward.build(None)
    backward.set_weights(encoder.get_weights())
    _, _, first = backward(SOURCE)
    np.testing.assert_allclose(first.numpy(), both.numpy()[:, 12:], atol=1e-6)
    np.testing.assert_allclose(first.numpy(), memory.numpy()[:, 0, 12:], atol=1e-6)
    forward_only = Encoder(20, 8, 12, cell=cell, bidirectional=False, final_state="backward")
    assert forward_only(SOURCE)[2].shape == (2, 12)
    sizes = {}
    for bridge in ("backward", "final", "zero"):
        model = tiny(cell=cell, decoder_layers=layers, bridge=bridge)
        _, state = model.encode(SOURCE)
        assert all(s.shape == (2, 12) for s in state)
        if bridge == "zero":
            assert model.decoder.bridge is None
            assert not any(np.any(s.numpy()) for s in state)
        else:
            sizes[bridge] = model.decoder.bridge.kernel.shape[0]
    assert sizes == {"backward": 12, "final": 24}
    with pytest.raises(ValueError, match="valid options: final, backward, zero"):
        Seq2Seq(10, 10, bridge="mean")


def test_dot_score_needs_matching_sizes() -> None:
    with pytest.raises(ValueError, match="luong_score 'dot'"):
        Seq2Seq(10, 10, luong_score="dot", bidirectional=True)
    tiny(luong_score="dot", bidirectional=False)


def test_model_round_trips_through_get_config() -> None:
    model = tiny(cell="gru", decoder_layers=2, bridge="backward", luong_scale=False)
    clone = Seq2Seq.from_config(model.get_config())
    clone.build_variables()
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(
        clone((SOURCE, TARGET_IN)).numpy(), model((SOURCE, TARGET_IN)).numpy(), atol=1e-6
    )
