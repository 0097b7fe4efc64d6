"""Load an exported SavedModel: TensorFlow plus the tensorflow-text ops its graph uses.

Shared by the serving script, the model server and the evaluation of an export,
so that each of them calls the exported signatures the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.contract import (
    ALPHA,
    BEAM_SIZE,
    MAX_LENGTH_A,
    MAX_LENGTH_B,
    SERVING_DEFAULT,
    TEXT,
    TRANSLATE_WITH_OPTIONS,
    TRANSLATIONS,
)


def load_saved_model(path: Path) -> Any:
    """``tf.saved_model.load`` with the tensorflow-text ops registered first."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the SentencePiece ops)

    return tf.saved_model.load(str(path))


def load_translate_fn(path: Path, options: dict[str, Any] | None = None) -> Any:
    """A ``list[str] -> list[str]`` function backed by the SavedModel at ``path``."""
    import tensorflow as tf

    loaded = load_saved_model(path)
    if options:
        signature = loaded.signatures[TRANSLATE_WITH_OPTIONS]
        extra = {
            BEAM_SIZE: tf.constant(options[BEAM_SIZE], tf.int32),
            ALPHA: tf.constant(options[ALPHA], tf.float32),
            MAX_LENGTH_A: tf.constant(options[MAX_LENGTH_A], tf.float32),
            MAX_LENGTH_B: tf.constant(options[MAX_LENGTH_B], tf.int32),
        }
    else:
        signature, extra = loaded.signatures[SERVING_DEFAULT], {}

    def translate(batch: list[str]) -> list[str]:
        result = signature(**{TEXT: tf.constant(batch)}, **extra)
        return [t.decode("utf-8") for t in result[TRANSLATIONS].numpy()]

    translate.loaded = loaded  # type: ignore[attr-defined]  # keeps the model alive
    return translate
