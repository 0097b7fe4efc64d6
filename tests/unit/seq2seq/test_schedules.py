"""Learning-rate schedule: warmup, decay and plateau scaling."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from seq2seq.schedules import LearningRate


def rates(decay: str, scale: float = 1.0, total_steps: int = 0) -> list[float]:
    schedule = LearningRate(0.01, 4, decay, tf.Variable(scale), total_steps)
    return [float(schedule(tf.constant(step))) for step in (0, 1, 3, 15, 99)]


def test_warmup_then_constant() -> None:
    np.testing.assert_allclose(rates("none"), [0.0025, 0.005, 0.01, 0.01, 0.01], rtol=1e-6)


def test_inverse_sqrt_decay_after_warmup() -> None:
    np.testing.assert_allclose(
        rates("inverse_sqrt"), [0.0025, 0.005, 0.01, 0.005, 0.002], rtol=1e-6
    )


def test_cosine_decay_reaches_zero_at_the_budget() -> None:
    """Steps are counted from 1 inside the schedule: update 15 is step 16, 12/20 of the way
    from the end of warmup (4) to the budget (24); from the budget on the rate is 0."""
    expected_mid = 0.01 * 0.5 * (1.0 + np.cos(np.pi * 12 / 20))
    np.testing.assert_allclose(
        rates("cosine", total_steps=24), [0.0025, 0.005, 0.01, expected_mid, 0.0], atol=1e-9
    )


def test_cosine_needs_a_budget_beyond_warmup() -> None:
    with pytest.raises(ValueError, match="total_steps"):
        LearningRate(0.1, 4, "cosine", tf.Variable(1.0), 4)


def test_plateau_scale_multiplies() -> None:
    np.testing.assert_allclose(rates("plateau", 0.25)[-1], 0.0025, rtol=1e-6)


def test_unknown_decay() -> None:
    with pytest.raises(ValueError, match="valid options"):
        LearningRate(0.1, 1, "linear", tf.Variable(1.0))
