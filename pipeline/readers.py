"""Resolving, validating and reading parallel corpora.

Every file goes through ``apache_beam.io.filesystems.FileSystems``, so paths may
be local, ``gs://``, ``s3://`` or any other registered Beam file system, and
``.gz`` files are decompressed transparently. Files are read line by line
(constant memory); aligned files are read in lock-step. Uncompressed files are
cut into tasks of ``CHUNK_LINES`` lines at byte offsets found while they are
counted, so one big file is read by several workers.

A read record is the tuple ``(corpus, line_number, source, target, reason)``:
``reason`` is empty for a readable pair, or the name of the read problem
(``invalid_utf8``, ``nul_byte``, ``too_few_columns``). Line numbers are 1-based
and count across all files of a corpus, in sorted file order.
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipeline.config import InputConfig
from pipeline.errors import CorpusError

Record = tuple[str, int, str, str, str]

INVALID_UTF8 = "invalid_utf8"
NUL_BYTE = "nul_byte"
TOO_FEW_COLUMNS = "too_few_columns"

_CHUNK = 1 << 20
# Lines per reading task: big files are read in parallel, in chunks of this many lines.
CHUNK_LINES = 20_000


@dataclass(frozen=True)
class FileTask:
    """One unit of reading work: a chunk of a file (tsv) or of a pair of files (aligned).

    ``offsets`` are the byte offsets where the chunk starts in each of ``paths``
    (empty: the start of the files), ``lines`` its number of lines and
    ``first_line`` the corpus line number of its first line.
    """

    corpus: str
    first_line: int
    paths: tuple[str, ...]
    columns: tuple[int, int] = (0, 1)
    offsets: tuple[int, ...] = ()
    lines: int = 0
    tsv: bool = False


@dataclass(frozen=True)
class ResolvedInput:
    """An input whose files were found, checked, counted and cut into chunks."""

    name: str
    tasks: tuple[FileTask, ...]
    lines: int


def absolute_path(pattern: str) -> str:
    """Make local relative paths absolute (Beam's local glob needs a directory part)."""
    if "://" in pattern or os.path.isabs(pattern):
        return pattern
    return os.path.abspath(pattern)


def match_files(pattern: str, owner: str = "") -> list[str]:
    """Sorted file paths matching ``pattern``; a ``CorpusError`` if there are none (its
    message starts with ``owner``, if given, such as ``corpus 'train'``)."""
    label = f"{owner}: " if owner else ""
    try:
        results = FileSystems.match([absolute_path(pattern)])
    except (OSError, ValueError) as err:  # BeamIOError is an OSError
        raise CorpusError(f"{label}cannot list {pattern}: {err}") from err
    paths = sorted(m.path for r in results for m in r.metadata_list)
    if not paths:
        raise CorpusError(f"{label}no file matches {pattern}")
    return paths


def resolve(pattern: str, corpus: str) -> list[str]:
    """Sorted file paths matching ``pattern``; a ``CorpusError`` if there are none."""
    return match_files(pattern, f"corpus {corpus!r}")


def _open(path: str) -> IO[bytes]:
    try:
        return FileSystems.open(path)
    except (OSError, ValueError) as err:  # BeamIOError is an OSError
        raise CorpusError(f"cannot open {path}: {err}") from err


def _nth_newline(chunk: bytes, n: int) -> int:
    """The index of the ``n``-th (1-based) newline of ``chunk``, which has at least ``n``."""
    position = -1
    for _ in range(n):
        position = chunk.index(b"\n", position + 1)
    return position


def scan_lines(path: str, every: int = 0) -> tuple[int, tuple[int, ...]]:
    """``(lines, offsets)``: the number of lines of ``path`` and, if ``every`` > 0,
    the byte offsets of lines ``every``, ``2 * every``, ... (0-based; only those
    that start before the end of the file). Streams the file once.
    """
    count, size, last, offsets = 0, 0, b"\n", []
    mark = every if every > 0 else -1
    with _open(path) as handle:
        try:
            while chunk := handle.read(_CHUNK):
                newlines = chunk.count(b"\n")
                while 0 < mark <= count + newlines:
                    offsets.append(size + _nth_newline(chunk, mark - count) + 1)
                    mark += every
                count, size, last = count + newlines, size + len(chunk), chunk[-1:]
        except (OSError, EOFError, ValueError, zlib.error) as err:
            raise CorpusError(f"cannot read {path}: {err}") from err
    return count + (0 if last == b"\n" else 1), tuple(o for o in offsets if o < size)


def count_lines(path: str) -> int:
    """Number of lines in ``path`` (a last line without a newline counts), streaming."""
    return scan_lines(path)[0]


def iter_lines(path: str, offset: int = 0, limit: int = -1) -> Iterator[bytes]:
    """The raw lines of ``path`` without their line terminator.

    Starts at byte ``offset`` (a line start) and stops after ``limit`` lines
    (-1: at the end of the file).
    """
    with _open(path) as handle:
        if offset:
            handle.seek(offset)
        while limit != 0 and (raw := handle.readline()):
            limit -= 1
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


def _chunks(
    corpus: str,
    first_line: int,
    paths: tuple[str, ...],
    lines: int,
    offsets: Sequence[tuple[int, ...]],
) -> list[FileTask]:
    """Cuts ``lines`` lines of ``paths`` into tasks at ``offsets`` (one per ``CHUNK_LINES``)."""
    starts = [(0, ())] + [((i + 1) * CHUNK_LINES, o) for i, o in enumerate(offsets)]
    tasks = []
    for index, (start, offset) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else lines
        tasks.append(FileTask(corpus, first_line + start, paths, offsets=offset, lines=end - start))
    return tasks


def _scan(path: str) -> tuple[int, tuple[int, ...]]:
    """Line count and chunk offsets (none for compressed files, which cannot seek)."""
    compressed = CompressionTypes.detect_compression_type(path) != CompressionTypes.UNCOMPRESSED
    return scan_lines(path, 0 if compressed else CHUNK_LINES)


def _resolve_aligned(spec: InputConfig) -> ResolvedInput:
    sources, targets = resolve(spec.source, spec.name), resolve(spec.target, spec.name)
    if len(sources) != len(targets):
        raise CorpusError(
            f"corpus {spec.name!r}: {spec.source} matches {len(sources)} file(s) but "
            f"{spec.target} matches {len(targets)}; aligned inputs must pair up"
        )
    tasks: list[FileTask] = []
    total = 0
    for src, tgt in zip(sources, targets, strict=True):
        (n_src, src_offsets), (n_tgt, tgt_offsets) = _scan(src), _scan(tgt)
        if n_src != n_tgt:
            raise CorpusError(
                f"{src} has {n_src} lines but {tgt} has {n_tgt}; "
                "aligned files must have the same number of lines"
            )
        offsets = list(zip(src_offsets, tgt_offsets, strict=False))
        tasks += _chunks(spec.name, total + 1, (src, tgt), n_src, offsets)
        total += n_src
    return ResolvedInput(spec.name, tuple(tasks), total)


def _resolve_tsv(spec: InputConfig) -> ResolvedInput:
    tasks: list[FileTask] = []
    total = 0
    columns = (spec.source_column, spec.target_column)
    for path in resolve(spec.path, spec.name):
        lines, offsets = _scan(path)
        chunks = _chunks(spec.name, total + 1, (path,), lines, [(o,) for o in offsets])
        tasks += [dataclasses.replace(c, columns=columns, tsv=True) for c in chunks]
        total += lines
    return ResolvedInput(spec.name, tuple(tasks), total)


def resolve_input(spec: InputConfig, source: str = "", target: str = "") -> ResolvedInput:
    """Find, check, count and cut into chunks the files of one ``aligned`` or ``tsv`` input.

    ``source``/``target`` override the spec's aligned paths (used for generated
    ``sample`` corpora). Raises ``CorpusError`` for a missing, unreadable, empty
    or misaligned input.
    """
    if spec.format == "tsv":
        resolved = _resolve_tsv(spec)
    else:
        if source:
            spec = InputConfig(name=spec.name, format="aligned", source=source, target=target)
        resolved = _resolve_aligned(spec)
    if resolved.lines == 0:
        files = sorted({path for task in resolved.tasks for path in task.paths})
        verb = "is" if len(files) == 1 else "are"
        raise CorpusError(f"corpus {spec.name!r}: {' and '.join(files)} {verb} empty")
    return resolved


def _check_length(task: FileTask, read: int) -> None:
    if read != task.lines:
        files = " and ".join(task.paths)
        raise CorpusError(
            f"{files} changed length while being read (line {task.first_line + read})"
        )


def _read_aligned(task: FileTask) -> Iterator[Record]:
    src_path, tgt_path = task.paths
    src_offset, tgt_offset = task.offsets or (0, 0)
    sources = iter_lines(src_path, src_offset, task.lines)
    targets = iter_lines(tgt_path, tgt_offset, task.lines)
    read = 0
    for raw_src, raw_tgt in zip(sources, targets, strict=False):
        file_line = 2 if task.offsets else read + 1  # only a file's line 1 may carry a BOM
        source, src_reason = decode_line(raw_src, file_line)
        target, tgt_reason = decode_line(raw_tgt, file_line)
        yield task.corpus, task.first_line + read, source, target, src_reason or tgt_reason
        read += 1
    _check_length(task, read)


def _read_tsv(task: FileTask) -> Iterator[Record]:
    src_col, tgt_col = task.columns
    offset = task.offsets[0] if task.offsets else 0
    read = 0
    for raw in iter_lines(task.paths[0], offset, task.lines):
        line, (text, reason) = task.first_line + read, decode_line(raw, 2 if offset else read + 1)
        read += 1
        columns = text.split("\t")
        if not reason and len(columns) <= max(src_col, tgt_col):
            reason = TOO_FEW_COLUMNS
        if reason:
            yield task.corpus, line, text, "", reason
        else:
            yield task.corpus, line, columns[src_col], columns[tgt_col], ""
    _check_length(task, read)


def read_task(task: FileTask) -> Iterator[Record]:
    """The records of one chunk of a corpus, in line order."""
    return _read_tsv(task) if task.tsv else _read_aligned(task)


class ReadChunkFn(beam.DoFn):
    """Reads one chunk of a corpus into records."""

    def process(self, task: FileTask) -> Iterator[Record]:
        yield from read_task(task)


class ReadCorpus(beam.PTransform):
    """Reads every chunk of a resolved ``aligned`` or ``tsv`` input into records."""

    def __init__(self, resolved: ResolvedInput) -> None:
        super().__init__()
        self._resolved = resolved

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "ListChunks" >> beam.Create(list(self._resolved.tasks))
            | "SpreadChunks" >> beam.Reshuffle()
            | "ReadLines" >> beam.ParDo(ReadChunkFn())
        )
