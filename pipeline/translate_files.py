"""Batch translation's files: which inputs a glob names, where each one's translation goes,
and how they are cut into reading tasks.

Inputs go through Beam's ``FileSystems`` (local paths, ``gs://``, ``s3://``; ``.gz`` read
transparently). Lines end at ``\\n`` (a ``\\r`` before it is dropped), as preprocessing reads
them. Every input line is numbered (1-based, per file) and belongs to the chunk
``(line - 1) // chunk_lines`` of its file: chunks are the keyed batches the pipeline
translates and the part files it writes, so that order is restored per chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipeline.errors import CorpusError
from pipeline.readers import absolute_path, iter_lines, match_files, scan_lines

REJECTS_NAME = "rejects.tsv"  # after the output prefix: every rejected line


@dataclass(frozen=True)
class InputFile:
    """One input file, its line count and the file its translation is written to."""

    path: str
    lines: int
    output: str


@dataclass(frozen=True)
class ReadTask:
    """Lines ``first_line .. first_line + lines - 1`` of input file ``file``, starting at byte
    ``offset`` (0 for compressed files, read whole by one task)."""

    file: int
    path: str
    offset: int
    first_line: int
    lines: int


def absolute_prefix(prefix: str) -> str:
    """``prefix`` made absolute if it is a local path, keeping a trailing ``/``."""
    absolute = absolute_path(prefix)
    return absolute + "/" if prefix.endswith("/") and not absolute.endswith("/") else absolute


def output_name(prefix: str, path: str) -> str:
    """``prefix`` + the input's base name, without a compression suffix (the output is plain
    text): ``out/de.`` and ``data/test.en.gz`` give ``out/de.test.en``."""
    name = FileSystems.split(path)[1]
    if _compressed(name):
        name = name.rsplit(".", 1)[0]
    return prefix + name


def _compressed(path: str) -> bool:
    """Whether Beam reads ``path`` as compressed (``.gz``, ``.bz2``, ``.zst``, ``.xz``, ...)."""
    return CompressionTypes.detect_compression_type(path) != CompressionTypes.UNCOMPRESSED


def input_files(patterns: Iterable[str], prefix: str) -> list[str]:
    """Every file the globs ``patterns`` match, sorted and without repeats; ``CorpusError``
    if a glob matches nothing, two inputs would write the same output, or an output (or the
    rejects file) is one of the inputs."""
    paths = sorted({path for pattern in patterns for path in match_files(pattern)})
    outputs: dict[str, str] = {}
    for path in paths:
        output = output_name(prefix, path)
        if output in outputs:
            raise CorpusError(
                f"{outputs[output]} and {path} would both be translated into {output}: "
                "give inputs different base names"
            )
        outputs[output] = path
    rejects = prefix + REJECTS_NAME
    if rejects in outputs:
        raise CorpusError(f"{outputs[rejects]}: its translation would overwrite {rejects}")
    for written in (*outputs, rejects):
        if written in paths:
            raise CorpusError(
                f"{written}: an input would be overwritten by the output; give another --output"
            )
    return paths


def plan_reading(
    paths: list[str], prefix: str, chunk_lines: int
) -> tuple[list[InputFile], list[ReadTask]]:
    """Counts every input's lines (one pass each, in this process) and cuts uncompressed
    inputs into tasks of ``chunk_lines`` lines at the byte offsets found meanwhile."""
    files, tasks = [], []
    for index, path in enumerate(paths):
        compressed = _compressed(path)
        lines, offsets = scan_lines(path, 0 if compressed else chunk_lines)
        files.append(InputFile(path, lines, output_name(prefix, path)))
        if compressed:
            tasks.append(ReadTask(index, path, 0, 1, lines))
            continue
        starts = (0, *offsets)
        for chunk, offset in enumerate(starts):
            first = chunk * chunk_lines + 1
            tasks.append(ReadTask(index, path, offset, first, min(chunk_lines, lines - first + 1)))
    return files, [task for task in tasks if task.lines > 0]


def read_task(
    task: ReadTask, chunk_lines: int
) -> Iterator[tuple[tuple[int, int], tuple[int, bytes]]]:
    """``((file, chunk), (line, raw bytes))`` for each line of ``task``; ``CorpusError`` if the
    file no longer has the lines it had when it was counted."""
    read = 0
    for raw in iter_lines(task.path, task.offset, task.lines):
        line = task.first_line + read
        yield (task.file, (line - 1) // chunk_lines), (line, raw)
        read += 1
    if read != task.lines:
        raise CorpusError(f"{task.path} changed while being read (line {task.first_line + read})")
