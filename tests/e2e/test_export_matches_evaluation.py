"""The SavedModel translates exactly like the in-process translator that evaluation uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import tensorflow as tf

from core.contract import resolve_version
from core.saved_model import load_translate_fn
from nmt.config import load_config
from nmt.translator_setup import load_translator

pytestmark = pytest.mark.usefixtures("tiny_exports_loaded_once")

SENTENCES = ["the black cats eat the fish .", "", "my sister will not open the red windows ."]


def test_export_equals_in_process_translation(tiny_run: dict[str, Path]) -> None:
    config = load_config(tiny_run["config"])
    translator = load_translator(config)
    result = translator.translate(tf.constant(SENTENCES))
    expected = [t.decode("utf-8") for t in result["translations"].numpy()]
    served = load_translate_fn(resolve_version(tiny_run["export_base"], None))
    assert served(SENTENCES) == expected
    assert expected[1] == ""
    exported = tf.saved_model.load(str(resolve_version(tiny_run["export_base"], None)))
    assert len(exported.model_variables) == len(translator.model_variables)
    for saved, live in zip(exported.model_variables, translator.model_variables, strict=True):
        assert saved.shape == live.shape
        if "seed_generator" in live.path:  # dropout RNG state, not a weight
            continue
        assert float(tf.reduce_max(tf.abs(saved - live.value))) == 0.0
