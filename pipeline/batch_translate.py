"""Translating whole corpora on Beam (``nmt translate``): RunInference with an exported
SavedModel over plain or gzipped files and globs, on any Beam runner.

One pipeline:

1. ``ReadLines``: the read tasks (chunks of uncompressed inputs, whole compressed ones),
   spread over the workers, give every line keyed by ``(file, chunk)``.
2. ``GroupChunks``: the keyed batches, one per chunk of up to ``chunk_lines`` lines (the
   chunks ``python -m serving.translate`` sorts and translates, from each file's first line).
3. ``Translate``: RunInference with ``TranslationHandler`` on those batches (its own
   batching is off), each line keyed by ``(file, line)``.
4. ``WriteChunks``: the outcomes grouped by chunk again and written in line order as part
   files (``translation_outputs``).
5. ``Finish``: one step that sees every chunk: outputs, rejects file, counts.

The batches are keyed groups rather than ``BatchElements``' because Beam's Dask runner
drops what a step emits when its bundle ends, where ``BatchElements`` emits each bundle's
last batch. Every step has one output and ``Finish`` depends on all of them, as in
preprocessing, for the same runner's sake. The outputs do not depend on the runner or
the number of workers.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from core.contract import SAVED_MODEL_FILE, resolve_model
from core.length_check import InputSettings
from core.length_sorted_batches import CHUNK_SIZE
from core.search_options import DEFAULT_BATCH_SIZE
from pipeline.beam_run import os_error_in, run_pipeline
from pipeline.errors import OutputError
from pipeline.manifest import Gather
from pipeline.translate_files import (
    REJECTS_NAME,
    InputFile,
    ReadTask,
    absolute_prefix,
    input_files,
    plan_reading,
    read_task,
)
from pipeline.translation_handler import (
    METRICS_NAMESPACE,
    PROGRESS_SECONDS,
    LineOutcome,
    TranslationHandler,
)
from pipeline.translation_outputs import ChunkEntry, Row, WriteChunk, finish
from pipeline.writers import read_json

LOG = logging.getLogger("pipeline.translate")
LOCAL_RUNNER = "--runner=FnApiRunner"


@dataclass(frozen=True)
class TranslateSettings:
    """What ``nmt translate`` translates, how, and where to.

    ``model``: an export's version folder, or its model folder (the latest version);
    ``inputs``: globs of plain or compressed files on any Beam file system; ``output``: the
    prefix of every output (``PREFIX`` + an input's base name; ``PREFIX`` + ``rejects.tsv``);
    ``options``: search options by signature input name (``None``: the export's value);
    ``nbest``: every hypothesis with its score as a JSON line; ``batch_size``: sentences per
    model call; ``chunk_lines``: lines per keyed batch, sorted by length together;
    ``beam_args``: Beam pipeline options, passed through untouched; ``progress_seconds``: how
    often each worker process logs its progress.
    """

    model: Path
    inputs: tuple[str, ...]
    output: str
    options: Mapping[str, Any] = field(default_factory=dict)
    nbest: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    chunk_lines: int = CHUNK_SIZE
    beam_args: tuple[str, ...] = (LOCAL_RUNNER,)
    progress_seconds: float = PROGRESS_SECONDS

    def __post_init__(self) -> None:
        if not self.inputs:
            raise ValueError("inputs must name at least one file or glob")
        if not self.output:
            raise ValueError("output must be a prefix, such as out/ or out/de.")
        if self.batch_size < 1 or self.chunk_lines < 1:
            raise ValueError("batch_size and chunk_lines must be >= 1")


def with_runner(beam_args: tuple[str, ...]) -> tuple[str, ...]:
    """``beam_args``, led by ``--runner=FnApiRunner`` if they name no runner (Beam's default
    runner would first download and start another one)."""
    if any(arg == "--runner" or arg.startswith("--runner=") for arg in beam_args):
        return beam_args
    return (LOCAL_RUNNER, *beam_args)


def model_version(model: Path) -> Path:
    """``model`` if it is a version folder, else its latest version (absolute);
    ``FileNotFoundError`` if there is no SavedModel."""
    path = resolve_model(model.resolve())
    if not (path / SAVED_MODEL_FILE).is_file():
        raise FileNotFoundError(f"{path}: no {SAVED_MODEL_FILE}")
    return path


def _keyed_batch(group: tuple[tuple[int, int], Iterable[tuple[int, bytes]]]) -> list[Any]:
    """A chunk's lines as RunInference's keyed examples ``((file, line), raw)``, in order."""
    (file, _), lines = group
    return [((file, line), raw) for line, raw in sorted(lines)]


def _by_chunk(item: tuple[tuple[int, int], Any], chunk_lines: int) -> tuple[tuple[int, int], Row]:
    """A line's ``PredictionResult`` as its outcome keyed by its chunk; the raw line travels
    only if it was rejected."""
    (file, line), result = item
    outcome: LineOutcome = result.inference
    raw: bytes = result.example if outcome.reason else b""
    return (file, (line - 1) // chunk_lines), (line, outcome, raw)


def _finish_all(entries: list[ChunkEntry | None], *args: Any) -> dict[str, Any]:
    return finish([e for e in entries if e is not None], *args)


def build_pipeline(
    p: beam.Pipeline,
    tasks: list[ReadTask],
    files: list[InputFile],
    handler: TranslationHandler,
    chunk_lines: int,
    work: str,
    rejects_path: str,
) -> None:
    """Adds the whole translation to ``p``; its last step depends on every output."""
    chunks = (
        p
        | "ListReadTasks" >> beam.Create(tasks)
        | "SpreadReadTasks" >> beam.Reshuffle()
        | "ReadLines" >> beam.FlatMap(read_task, chunk_lines)
        | "GroupChunks" >> beam.GroupByKey()
        | "KeyLines" >> beam.Map(_keyed_batch)
        | "Translate" >> RunInference(KeyedModelHandler(handler).with_no_batching())
        | "KeyByChunk" >> beam.Map(_by_chunk, chunk_lines)
        | "GroupOutcomes" >> beam.GroupByKey()
        | "WriteChunks" >> beam.ParDo(WriteChunk(files, chunk_lines, work))
    )
    # One element even when there is no line at all, so that Finish always runs.
    seed = p | "Seed" >> beam.Create([None])
    _ = (
        (chunks, seed)
        | "WithSeed" >> beam.Flatten()
        | "GatherChunks" >> Gather()
        | "Finish" >> beam.Map(_finish_all, files, chunk_lines, rejects_path, _summary_path(work))
    )


def _summary_path(work: str) -> str:
    return FileSystems.join(work, "summary.json")


def _counters(result: Any) -> dict[str, int] | None:
    """The pipeline's counters, or ``None`` on a runner that has no metrics (Dask)."""
    try:
        query = result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE))
    except NotImplementedError:
        return None
    counters: dict[str, int] = {}
    for counter in query["counters"]:
        name = counter.key.metric.name
        counters[name] = counters.get(name, 0) + counter.result
    return dict(sorted(counters.items()))


def run_translate(settings: TranslateSettings) -> dict[str, Any]:
    """Translates every input into its output; returns the counts (``files``, ``lines``,
    ``rejected`` by reason, ``rejects_file``, ``seconds`` and the Beam ``counters``, or
    ``None`` on a runner without metrics).

    ``CorpusError`` for a glob without files or inputs whose outputs would collide,
    ``FileNotFoundError`` for a missing model (both before the pipeline starts);
    ``OutputError`` when writing fails.
    """
    prefix = absolute_prefix(settings.output)
    paths = input_files(settings.inputs, prefix)
    model = model_version(settings.model)
    inputs = InputSettings.read(model)
    files, tasks = plan_reading(paths, prefix, settings.chunk_lines)
    handler = TranslationHandler(
        str(model),
        settings.options,
        settings.nbest,
        settings.batch_size,
        inputs,
        settings.progress_seconds,
    )
    work = FileSystems.join(FileSystems.split(prefix)[0], f".nmt-translate-{uuid.uuid4().hex}")
    rejects_path = prefix + REJECTS_NAME
    total = sum(f.lines for f in files)
    LOG.info("translating %d line(s) of %d file(s) with %s", total, len(files), model)
    start = time.monotonic()
    try:
        options = PipelineOptions(list(settings.beam_args))
        args = (tasks, files, handler, settings.chunk_lines, work, rejects_path)
        result = run_pipeline(options, build_pipeline, *args)
        summary = read_json(_summary_path(work))
    except (OSError, RuntimeError) as err:
        cause = os_error_in(err)
        if cause is None:
            raise
        raise OutputError(f"{prefix}: translation stopped: {cause}") from None
    finally:
        if FileSystems.exists(work):
            FileSystems.delete([work])
    summary["seconds"] = round(time.monotonic() - start, 3)
    summary["counters"] = _counters(result)
    _log_summary(summary)
    return summary


def _log_summary(summary: dict[str, Any]) -> None:
    lines, seconds = summary["lines"], summary["seconds"]
    rejected = summary["rejected"]
    reasons = ", ".join(f"{count} {reason}" for reason, count in rejected.items()) or "none"
    LOG.info(
        "done: %d line(s) of %d file(s) in %.1f s (%.1f sentences/s); %d rejected (%s), "
        "listed in %s",
        lines,
        summary["files"],
        seconds,
        lines / max(seconds, 1e-9),
        sum(rejected.values()),
        reasons,
        summary["rejects_file"],
    )
