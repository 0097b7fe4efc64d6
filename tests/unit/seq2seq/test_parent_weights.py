"""A parent's weights that do not fit the model: one line naming both, and no weight set."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from core.contract import RunLayout
from nmt.config import load_config
from seq2seq.optimizer import make_optimizer
from seq2seq.parent_weights import ParentWeights, ParentWeightsError, load_parent
from seq2seq.resume import TrainingState
from seq2seq.run_models import build_model


@pytest.mark.parametrize(
    ("change", "exported", "problem"),
    [
        (
            {"units": 16},
            False,
            "has shape [16, 128], the model built from this experiment's config [16, 64]",
        ),
        (
            {"units": 16},
            True,
            "has shape [16, 128], the model built from this experiment's config [16, 64]",
        ),
        ({"cell": "gru"}, True, "has shape"),
        ({"attention": "bahdanau"}, True, "model variables, the model built from"),
        ({"attention": "bahdanau"}, False, "has no model_variables/"),
    ],
)
def test_weights_that_do_not_fit_are_refused_before_any_is_set(
    change: dict[str, object], exported: bool, problem: str, tiny_run: dict[str, Path]
) -> None:
    config = load_config(tiny_run["config"])
    keras.backend.clear_session()
    model = build_model(dataclasses.replace(config.model, **change), RunLayout(config.run_dir))
    state = TrainingState()
    optimizer = make_optimizer(config.train, state.lr_scale)
    optimizer.build(model.trainable_variables)
    before = [v.numpy() for v in model.weights]
    folder = tiny_run["export_base"] / "1" if exported else RunLayout(config.run_dir).best
    with pytest.raises(ParentWeightsError, match=re.escape(problem)) as caught:
        load_parent(ParentWeights(folder, exported), model, optimizer, state)
    assert str(folder) in str(caught.value) and "\n" not in str(caught.value)
    for got, want in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(got.numpy(), want)
