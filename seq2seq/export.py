"""Write a translator as a versioned SavedModel in TensorFlow Serving's layout.

``<base>/<version>/`` with integer versions; the SavedModel is written to a
hidden temporary folder beside it and renamed into place, so a half-written
export is never visible. ``assets.extra/`` carries the config, the
SentencePiece models and version metadata.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import tensorflow as tf

from seq2seq.translator import Translator

SIGNATURES = ("serving_default", "translate_with_options", "nbest")


def existing_versions(base: Path) -> list[int]:
    """Integer version folders under ``base``, ascending."""
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


def export_translator(
    translator: Translator, base: Path, assets: dict[str, Path], metadata: dict[str, Any]
) -> Path:
    """Save ``translator`` as the next version under ``base`` and return its folder."""
    base.mkdir(parents=True, exist_ok=True)
    version = (existing_versions(base) or [0])[-1] + 1
    staging = base / f".staging-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    signatures = {
        "serving_default": translator.translate,
        "translate_with_options": translator.translate_with_options,
        "nbest": translator.nbest,
    }
    tf.saved_model.save(translator, str(staging), signatures=signatures)
    extra = staging / "assets.extra"
    extra.mkdir()
    for name, source in assets.items():
        shutil.copyfile(source, extra / name)
    info = {
        **metadata,
        "version": version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tensorflow": tf.__version__,
        "signatures": list(SIGNATURES),
    }
    (extra / "metadata.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    target = base / str(version)
    os.rename(staging, target)
    return target
