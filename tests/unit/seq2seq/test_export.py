"""Every op in the exported graph is core TensorFlow or tensorflow-text (``servable_ops``)."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from tests.unit.seq2seq.servable_ops import FORBIDDEN, assert_servable_ops, is_text_op


def test_export_uses_only_core_and_tensorflow_text_ops(tiny_run: dict[str, Path]) -> None:
    assert_servable_ops(tiny_run["export_base"] / "1")


def test_forbidden_ops_would_be_caught() -> None:
    """The checks above are not vacuous: PyFunc is a core op and must be named explicitly."""
    assert hasattr(tf.raw_ops, "PyFunc") and "PyFunc" in FORBIDDEN
    assert not is_text_op("Addons>GatherTree")
    assert is_text_op("SentencepieceOp") and not hasattr(tf.raw_ops, "SentencepieceOp")
