"""Batch translation's files: inputs, output names, reading tasks and lines, progress logs."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from pipeline.errors import CorpusError
from pipeline.translate_files import (
    absolute_prefix,
    input_files,
    output_name,
    plan_reading,
    read_task,
)
from pipeline.translation_handler import Progress


def test_output_names_are_the_prefix_and_the_base_name_without_compression() -> None:
    assert output_name("/out/de.", "/data/test.en.gz") == "/out/de.test.en"
    assert output_name("/out/", "/data/val.en") == "/out/val.en"
    assert output_name("/out/", "/data/val.en.XZ") == "/out/val.en"
    assert output_name("/out/", "/data/v1.2.txt") == "/out/v1.2.txt"


def test_a_relative_prefix_becomes_absolute_and_keeps_its_slash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert absolute_prefix("out/") == f"{tmp_path}/out/"
    assert absolute_prefix("out/de.") == f"{tmp_path}/out/de."
    assert absolute_prefix("gs://b/out/") == "gs://b/out/"


def test_globs_give_sorted_files_once_and_refuse_colliding_outputs(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "sub/a.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    prefix = f"{tmp_path}/out/"
    globs = [str(tmp_path / "*.txt"), str(tmp_path / "a.txt")]
    assert input_files(globs, prefix) == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    with pytest.raises(CorpusError, match=r"a\.txt and .*sub/a\.txt would both be translated"):
        input_files([str(tmp_path / "a.txt"), str(tmp_path / "sub" / "*.txt")], prefix)
    with pytest.raises(CorpusError, match=r"^no file matches .*\*\.en$"):
        input_files([str(tmp_path / "*.en")], prefix)
    (tmp_path / "rejects.tsv").write_text("x\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"would overwrite .*rejects\.tsv"):
        input_files([str(tmp_path / "rejects.tsv")], f"{tmp_path}/")
    with pytest.raises(CorpusError, match=r"b\.txt: an input would be overwritten by the output"):
        input_files([str(tmp_path / "b.txt")], f"{tmp_path}/")  # out/b.txt would be b.txt


def test_plain_files_are_read_in_chunks_and_compressed_ones_whole(tmp_path: Path) -> None:
    plain, packed, empty = tmp_path / "p.txt", tmp_path / "g.txt.gz", tmp_path / "e.txt"
    plain.write_bytes(b"1\n2\r\n\n4\n5\n6\n7")  # 7 lines, the last without a newline
    packed.write_bytes(gzip.compress(b"a\nb\nc\nd\ne\n"))
    empty.write_bytes(b"")
    paths = [str(empty), str(packed), str(plain)]
    files, tasks = plan_reading(paths, "/out/", chunk_lines=3)
    assert [(f.lines, f.output) for f in files] == [
        (0, "/out/e.txt"),
        (5, "/out/g.txt"),
        (7, "/out/p.txt"),
    ]
    assert [(t.file, t.offset, t.first_line, t.lines) for t in tasks] == [
        (1, 0, 1, 5),
        (2, 0, 1, 3),
        (2, 6, 4, 3),
        (2, 12, 7, 1),
    ]
    keyed = [item for task in tasks for item in read_task(task, 3)]
    assert keyed[:5] == [
        ((1, 0), (1, b"a")),
        ((1, 0), (2, b"b")),
        ((1, 0), (3, b"c")),
        ((1, 1), (4, b"d")),
        ((1, 1), (5, b"e")),
    ]
    assert [(key, line) for key, (line, _) in keyed[5:]] == [
        ((2, 0), 1),
        ((2, 0), 2),
        ((2, 0), 3),
        ((2, 1), 4),
        ((2, 1), 5),
        ((2, 1), 6),
        ((2, 2), 7),
    ]
    assert [raw for _, (_, raw) in keyed[5:]] == [b"1", b"2", b"", b"4", b"5", b"6", b"7"]


def test_a_file_that_changes_after_it_was_counted_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(b"1\n2\n3\n")
    _, tasks = plan_reading([str(path)], "/out/", chunk_lines=10)
    path.write_bytes(b"1\n")
    with pytest.raises(CorpusError, match=r"p\.txt changed while being read \(line 2\)"):
        list(read_task(tasks[0], 10))


def test_progress_is_logged_at_most_every_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    progress = Progress(every=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="pipeline.translate"):
        for _ in range(6):
            now[0] += 4.0
            progress.add(100)
    messages = [r.getMessage() for r in caplog.records]
    # At 12 s (300 lines) and 24 s (600 lines), not at 20 s: 25 sentences/s both times.
    assert len(messages) == 2
    assert messages[0].endswith(": 300 lines done, 25.0 sentences/s")
    assert messages[1].endswith(": 600 lines done, 25.0 sentences/s")
