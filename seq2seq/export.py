"""Write a translator as a versioned SavedModel in TensorFlow Serving's layout.

``<base>/<version>/`` with integer versions; the SavedModel is written to a
hidden temporary folder beside it and renamed into place, so a half-written
export is never visible. ``assets.extra/`` carries the config, the
SentencePiece models, version metadata and any other JSON record given (the
export gate's blessing record).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tensorflow as tf

from core.contract import (
    ASSETS_EXTRA_DIR,
    METADATA_ASSET,
    NBEST,
    SERVING_DEFAULT,
    SIGNATURES,
    TRANSLATE_WITH_OPTIONS,
    version_folders,
)
from seq2seq.translator import Translator


def export_translator(
    translator: Translator,
    base: Path,
    assets: dict[str, Path],
    metadata: dict[str, Any],
    records: Mapping[str, Any] | None = None,
) -> Path:
    """Save ``translator`` as the next version under ``base`` and return its folder; ``assets``
    (name -> file) are copied into ``assets.extra/``, ``records`` (name -> data) written there
    as JSON."""
    base.mkdir(parents=True, exist_ok=True)
    version = (version_folders(base) or [0])[-1] + 1
    staging = base / f".staging-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    signatures = {
        SERVING_DEFAULT: translator.translate,
        TRANSLATE_WITH_OPTIONS: translator.translate_with_options,
        NBEST: translator.nbest,
    }
    tf.saved_model.save(translator, str(staging), signatures=signatures)
    extra = staging / ASSETS_EXTRA_DIR
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
    for name, record in {METADATA_ASSET: info, **(records or {})}.items():
        (extra / name).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    target = base / str(version)
    os.rename(staging, target)
    return target
