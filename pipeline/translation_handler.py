"""RunInference's model handler for batch translation: an export's string signatures on
batches of raw input lines.

Beam's TensorFlow handler loads Keras models and calls them on one stacked tensor; an
export's ``serving_default``, ``translate_with_options`` and ``nbest`` signatures take
strings and scalar options, so the handler is one of its own. RunInference loads the
model once per worker process and shares it between the process's threads
(``shared.Shared``, its default: the model is not shared across processes). A batch is
translated as ``python -m serving.translate`` translates a chunk: lines that are not valid
UTF-8 or longer than the model reads become empty output lines with a reject reason, empty
lines stay empty, the others are sorted by length into model batches of ``batch_size``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from core.length_check import InputSettings, piece_counter
from core.length_sorted_batches import TranslateFn, translate_chunk
from core.saved_model import load_saved_model, nbest_fn, translate_fn
from core.startup_logs import import_tensorflow, quiet_native_logs
from pipeline.cleaning import TOO_LONG
from pipeline.readers import INVALID_UTF8

LOG = logging.getLogger("pipeline.translate")
METRICS_NAMESPACE = "nmt_translate"
PROGRESS_SECONDS = 10.0  # how often each worker process logs its progress


class LineOutcome(NamedTuple):
    """What became of one input line: its output line and, if it was rejected, why."""

    text: str  # the translation, the n-best list as JSON, or "" (empty or rejected line)
    reason: str = ""  # INVALID_UTF8, TOO_LONG or "" (not rejected)


class Progress:
    """Lines done by this worker process and their rate, logged every ``every`` seconds."""

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self.lines = 0
        self.start = self.last = clock()
        self._lock = threading.Lock()

    def add(self, lines: int) -> None:
        """Counts ``lines`` more; logs when ``every`` seconds have passed since the last log."""
        with self._lock:
            self.lines += lines
            now = self.clock()
            if now - self.last < self.every:
                return
            self.last = now
            rate = self.lines / max(now - self.start, 1e-9)
            done = self.lines
        LOG.info("worker %d: %d lines done, %.1f sentences/s", os.getpid(), done, rate)


class LoadedTranslator:
    """One worker process's model: its translate (or n-best) function, the export's piece
    counter for the length check, and the process's progress."""

    def __init__(
        self,
        translate: TranslateFn,
        count_pieces: Callable[[list[str]], list[int]] | None,
        max_pieces: int,
        batch_size: int,
        progress: Progress,
    ) -> None:
        self.translate = translate
        self.count_pieces = count_pieces
        self.max_pieces = max_pieces
        self.batch_size = batch_size
        self.progress = progress

    def outcomes(self, raw_lines: Sequence[bytes]) -> list[LineOutcome]:
        """The outcome of each raw line (without its line ending), in the given order."""
        texts, reasons = [], []
        for raw in raw_lines:
            try:
                texts.append(raw.decode("utf-8"))
                reasons.append("")
            except UnicodeDecodeError:
                texts.append("")
                reasons.append(INVALID_UTF8)
        if self.count_pieces is not None:
            for index, count in enumerate(self.count_pieces(texts)):
                if count > self.max_pieces:
                    texts[index], reasons[index] = "", TOO_LONG
        translations = translate_chunk(self.translate, texts, self.batch_size)
        self.progress.add(len(raw_lines))
        return [LineOutcome(t, r) for t, r in zip(translations, reasons, strict=True)]


def nbest_json(nbest: Any) -> TranslateFn:
    """An ``nbest_fn`` as a function that gives each text's hypotheses and scores as one
    JSON object (``{"translations": [...], "scores": [...]}``, best first)."""

    def translate(batch: list[str]) -> list[str]:
        return [
            json.dumps({"translations": texts, "scores": scores}, ensure_ascii=False)
            for texts, scores in nbest(batch)
        ]

    return translate


class TranslationHandler(ModelHandler[bytes, PredictionResult, LoadedTranslator]):
    """Raw input lines → ``PredictionResult``s (the raw line, its ``LineOutcome``) with the
    export at ``model``.

    ``options``: search options by signature input name (``None``: the stored value);
    ``nbest``: every hypothesis with its score as a JSON line; ``inputs``: the export's
    input settings (``None``: lengths are not checked).
    """

    def __init__(
        self,
        model: str,
        options: Mapping[str, Any],
        nbest: bool,
        batch_size: int,
        inputs: InputSettings | None,
        progress_seconds: float = PROGRESS_SECONDS,
    ) -> None:
        super().__init__()  # no batching arguments: batches come grouped by key
        self.model = model
        self.options = dict(options)
        self.nbest = nbest
        self.batch_size = batch_size
        self.inputs = inputs
        self.progress_seconds = progress_seconds

    def load_model(self) -> LoadedTranslator:
        """Loads the export (quietly) with tensorflow-text's ops registered."""
        import_tensorflow()
        path = Path(self.model)
        with quiet_native_logs():
            loaded = load_saved_model(path)
            if self.nbest:
                translate = nbest_json(nbest_fn(loaded, self.options, path))
            else:
                translate = translate_fn(loaded, self.options, path)
            counter = piece_counter(self.inputs) if self.inputs else None
        max_pieces = self.inputs.max_pieces if self.inputs else 0
        progress = Progress(self.progress_seconds)
        LOG.info("worker %d: loaded %s", os.getpid(), self.model)
        return LoadedTranslator(translate, counter, max_pieces, self.batch_size, progress)

    def run_inference(
        self,
        batch: Sequence[bytes],
        model: LoadedTranslator,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[PredictionResult]:
        """The outcome of each raw line of ``batch``, in its order."""
        outcomes = model.outcomes(batch)
        return [
            PredictionResult(raw, outcome) for raw, outcome in zip(batch, outcomes, strict=True)
        ]

    def get_num_bytes(self, batch: Sequence[bytes]) -> int:
        """The bytes of the raw lines."""
        return sum(len(raw) for raw in batch)

    def get_metrics_namespace(self) -> str:
        """Where RunInference's own metrics (inference counts, latencies) go."""
        return METRICS_NAMESPACE
