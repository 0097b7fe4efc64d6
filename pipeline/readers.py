"""Resolving, validating and reading parallel corpora.

Every file goes through ``apache_beam.io.filesystems.FileSystems``, so paths may
be local, ``gs://``, ``s3://`` or any other registered Beam file system, and
``.gz`` files are decompressed transparently. Files are read line by line
(constant memory); aligned files are read in lock-step.

A read record is the tuple ``(corpus, line_number, source, target, reason)``:
``reason`` is empty for a readable pair, or the name of the read problem
(``invalid_utf8``, ``nul_byte``, ``too_few_columns``). Line numbers are 1-based
and count across all files of a corpus, in sorted file order.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.config import InputConfig
from pipeline.errors import CorpusError

Record = tuple[str, int, str, str, str]

INVALID_UTF8 = "invalid_utf8"
NUL_BYTE = "nul_byte"
TOO_FEW_COLUMNS = "too_few_columns"

_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileTask:
    """One unit of reading work: a file (tsv) or a pair of files (aligned)."""

    corpus: str
    first_line: int
    paths: tuple[str, ...]
    columns: tuple[int, int] = (0, 1)


@dataclass(frozen=True)
class ResolvedInput:
    """An input whose files were found, checked and counted."""

    name: str
    tasks: tuple[FileTask, ...]
    lines: int


def _absolute(pattern: str) -> str:
    """Make local relative paths absolute (Beam's local glob needs a directory part)."""
    if "://" in pattern or os.path.isabs(pattern):
        return pattern
    return os.path.abspath(pattern)


def resolve(pattern: str, corpus: str) -> list[str]:
    """Sorted file paths matching ``pattern``; a ``CorpusError`` if there are none."""
    try:
        results = FileSystems.match([_absolute(pattern)])
    except (OSError, ValueError) as err:  # BeamIOError is an OSError
        raise CorpusError(f"corpus {corpus!r}: cannot list {pattern}: {err}") from err
    paths = sorted(m.path for r in results for m in r.metadata_list)
    if not paths:
        raise CorpusError(f"corpus {corpus!r}: no file matches {pattern}")
    return paths


def _open(path: str) -> IO[bytes]:
    try:
        return FileSystems.open(path)
    except (OSError, ValueError) as err:  # BeamIOError is an OSError
        raise CorpusError(f"cannot open {path}: {err}") from err


def count_lines(path: str) -> int:
    """Number of lines in ``path`` (a last line without a newline counts), streaming."""
    count, last = 0, b"\n"
    with _open(path) as handle:
        try:
            while chunk := handle.read(_CHUNK):
                count += chunk.count(b"\n")
                last = chunk[-1:]
        except (OSError, EOFError, ValueError, zlib.error) as err:
            raise CorpusError(f"cannot read {path}: {err}") from err
    return count + (0 if last == b"\n" else 1)


def iter_lines(path: str) -> Iterator[bytes]:
    """The raw lines of ``path`` without their line terminator."""
    with _open(path) as handle:
        while raw := handle.readline():
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            yield raw[:-1] if raw.endswith(b"\r") else raw


def decode_line(raw: bytes, line_number: int) -> tuple[str, str]:
    """``(text, reason)``: the decoded line and the read problem, if any."""
    if line_number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:
        return raw.replace(b"\x00", b"").decode("utf-8", "replace"), NUL_BYTE
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), INVALID_UTF8


def _resolve_aligned(spec: InputConfig) -> ResolvedInput:
    sources, targets = resolve(spec.source, spec.name), resolve(spec.target, spec.name)
    if len(sources) != len(targets):
        raise CorpusError(
            f"corpus {spec.name!r}: {spec.source} matches {len(sources)} file(s) but "
            f"{spec.target} matches {len(targets)}; aligned inputs must pair up"
        )
    tasks, total = [], 0
    for src, tgt in zip(sources, targets, strict=True):
        n_src, n_tgt = count_lines(src), count_lines(tgt)
        if n_src != n_tgt:
            raise CorpusError(
                f"{src} has {n_src} lines but {tgt} has {n_tgt}; "
                "aligned files must have the same number of lines"
            )
        tasks.append(FileTask(spec.name, total + 1, (src, tgt)))
        total += n_src
    return ResolvedInput(spec.name, tuple(tasks), total)


def _resolve_tsv(spec: InputConfig) -> ResolvedInput:
    tasks, total = [], 0
    columns = (spec.source_column, spec.target_column)
    for path in resolve(spec.path, spec.name):
        tasks.append(FileTask(spec.name, total + 1, (path,), columns))
        total += count_lines(path)
    return ResolvedInput(spec.name, tuple(tasks), total)


def resolve_input(spec: InputConfig, source: str = "", target: str = "") -> ResolvedInput:
    """Find, check and count the files of one ``aligned`` or ``tsv`` input.

    ``source``/``target`` override the spec's aligned paths (used for generated
    ``sample`` corpora). Raises ``CorpusError`` for a missing, unreadable or
    misaligned input.
    """
    if spec.format == "tsv":
        return _resolve_tsv(spec)
    if source:
        spec = InputConfig(name=spec.name, format="aligned", source=source, target=target)
    return _resolve_aligned(spec)


class ReadAlignedFn(beam.DoFn):
    """Reads one pair of aligned files in lock-step into records."""

    def process(self, task: FileTask) -> Iterator[Record]:
        src_path, tgt_path = task.paths
        line = task.first_line - 1
        sources, targets = iter_lines(src_path), iter_lines(tgt_path)
        for raw_src, raw_tgt in zip(sources, targets, strict=False):
            line += 1
            source, src_reason = decode_line(raw_src, line - task.first_line + 1)
            target, tgt_reason = decode_line(raw_tgt, line - task.first_line + 1)
            yield task.corpus, line, source, target, src_reason or tgt_reason
        if next(sources, None) is not None or next(targets, None) is not None:
            raise CorpusError(f"{src_path} and {tgt_path} changed length while being read")


class ReadTsvFn(beam.DoFn):
    """Reads one tab-separated file into records."""

    def process(self, task: FileTask) -> Iterator[Record]:
        src_col, tgt_col = task.columns
        for offset, raw in enumerate(iter_lines(task.paths[0])):
            line, (text, reason) = task.first_line + offset, decode_line(raw, offset + 1)
            columns = text.split("\t")
            if not reason and len(columns) <= max(src_col, tgt_col):
                reason = TOO_FEW_COLUMNS
            if reason:
                yield task.corpus, line, text, "", reason
            else:
                yield task.corpus, line, columns[src_col], columns[tgt_col], ""


class ReadCorpus(beam.PTransform):
    """Reads every file of a resolved ``aligned`` or ``tsv`` input into records."""

    def __init__(self, resolved: ResolvedInput, tsv: bool = False) -> None:
        super().__init__()
        self._resolved = resolved
        self._fn: beam.DoFn = ReadTsvFn() if tsv else ReadAlignedFn()

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "ListFiles" >> beam.Create(list(self._resolved.tasks))
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadLines" >> beam.ParDo(self._fn)
        )
