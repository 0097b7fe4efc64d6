"""Load an exported SavedModel: TensorFlow plus the tensorflow-text ops its graph uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_saved_model(path: Path) -> Any:
    """``tf.saved_model.load`` with the tensorflow-text ops registered first."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the SentencePiece ops)

    return tf.saved_model.load(str(path))
