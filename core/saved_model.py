"""Load an exported SavedModel: TensorFlow plus the tensorflow-text ops its graph uses.

Shared by the serving script, the model server, batch translation on Beam and the
evaluation of an export, so that each of them calls the exported signatures the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.contract import (
    DEFAULT_VARIABLES,
    NBEST,
    SCORES,
    SERVING_DEFAULT,
    TEXT,
    TRANSLATE_WITH_OPTIONS,
    TRANSLATIONS,
)

# Every hypothesis of one input, best first, and their scores.
NBestList = tuple[list[str], list[float]]


def load_saved_model(path: Path) -> Any:
    """``tf.saved_model.load`` with the tensorflow-text ops registered first."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the SentencePiece ops)

    return tf.saved_model.load(str(path))


def exported_defaults(loaded: Any) -> dict[str, Any]:
    """The decoding options stored in a loaded export (``beam_size``, ``alpha``,
    ``max_length_a``, ``max_length_b`` and, if it has shortlists, ``shortlist``: what
    ``serving_default`` uses), as NumPy scalars."""
    return {
        option: getattr(loaded, variable).numpy()
        for option, variable in DEFAULT_VARIABLES.items()
        if hasattr(loaded, variable)
    }


def load_translate_fn(path: Path, options: dict[str, Any] | None = None) -> Any:
    """A ``list[str] -> list[str]`` function backed by the SavedModel at ``path``.

    ``options`` may name any option input of ``translate_with_options`` (``beam_size``,
    ``alpha``, ``max_length_a``, ``max_length_b`` and, in exports with shortlists,
    ``shortlist``); the others keep the values stored in the export.
    """
    return translate_fn(load_saved_model(path), options, path)


def translate_fn(
    loaded: Any, options: dict[str, Any] | None = None, path: Path | None = None
) -> Any:
    """``load_translate_fn`` for an export already loaded (``path`` names it in errors)."""
    import tensorflow as tf

    given = {name: value for name, value in (options or {}).items() if value is not None}
    if given:
        signature = loaded.signatures[TRANSLATE_WITH_OPTIONS]
        extra = _option_inputs(loaded, signature, given, path)
    else:
        signature, extra = loaded.signatures[SERVING_DEFAULT], {}

    def translate(batch: list[str]) -> list[str]:
        result = signature(**{TEXT: tf.constant(batch)}, **extra)
        return [t.decode("utf-8") for t in result[TRANSLATIONS].numpy()]

    translate.loaded = loaded  # type: ignore[attr-defined]  # keeps the model alive
    return translate


def nbest_fn(loaded: Any, options: dict[str, Any] | None = None, path: Path | None = None) -> Any:
    """A ``list[str] -> list[NBestList]`` function: the ``nbest`` signature's hypotheses and
    scores for each text, best first (as many as the beam size). ``options`` as in
    ``load_translate_fn``; the others keep the values stored in the export."""
    import tensorflow as tf

    if NBEST not in loaded.signatures:
        raise ValueError(f"{path}: the export has no {NBEST!r} signature")
    signature = loaded.signatures[NBEST]
    given = {name: value for name, value in (options or {}).items() if value is not None}
    extra = _option_inputs(loaded, signature, given, path)

    def nbest(batch: list[str]) -> list[NBestList]:
        result = signature(**{TEXT: tf.constant(batch)}, **extra)
        texts, scores = jsonable(result[TRANSLATIONS].numpy()), jsonable(result[SCORES].numpy())
        return list(zip(texts, scores, strict=True))

    nbest.loaded = loaded  # type: ignore[attr-defined]  # keeps the model alive
    return nbest


def _option_inputs(
    loaded: Any, signature: Any, given: dict[str, Any], path: Path | None
) -> dict[str, Any]:
    """Every option input of ``signature`` as a tensor: the ``given`` values, else the stored
    defaults; ``ValueError`` for an option the signature does not take."""
    import tensorflow as tf

    specs = signature.structured_input_signature[1]
    unknown = set(given) - set(specs)
    if unknown:
        raise ValueError(f"{path}: the export has no option {', '.join(sorted(unknown))}")
    values = {**exported_defaults(loaded), **given}
    return {
        name: tf.constant(values[name], spec.dtype) for name, spec in specs.items() if name != TEXT
    }


def jsonable(array: Any) -> list[Any]:
    """A NumPy array as nested lists: strings decoded as UTF-8 (invalid bytes replaced),
    float32 in its shortest exact decimal form."""
    if array.ndim > 1:
        return [jsonable(row) for row in array]
    if array.dtype == object:
        return [value.decode("utf-8", errors="replace") for value in array]
    if array.dtype.kind == "f":
        return [float(str(value)) for value in array]
    return list(array.tolist())
