"""Finding, validating and reading corpus files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline import readers
from pipeline.config import InputConfig
from pipeline.errors import CorpusError
from pipeline.readers import ReadCorpus, count_lines, decode_line, resolve_input, scan_lines


def _pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


def test_decode_line_reports_read_problems() -> None:
    assert decode_line(b"\xef\xbb\xbfhola", 1) == ("hola", "")
    assert decode_line(b"a\x00b", 2) == ("ab", "nul_byte")
    assert decode_line(b"caf\xe9", 2) == ("caf\ufffd", "invalid_utf8")


def test_count_lines_with_and_without_final_newline(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x\ny\n")
    (tmp_path / "b").write_bytes(b"x\ny")
    (tmp_path / "c").write_bytes(b"")
    assert [count_lines(str(tmp_path / n)) for n in "abc"] == [2, 2, 0]


def test_mismatched_line_counts_name_both_files(tmp_path: Path) -> None:
    (tmp_path / "x.en").write_text("a\nb\nc\n")
    (tmp_path / "x.de").write_text("a\nb\n")
    spec = InputConfig(name="x", source=str(tmp_path / "x.en"), target=str(tmp_path / "x.de"))
    with pytest.raises(CorpusError) as err:
        resolve_input(spec)
    message = str(err.value)
    assert f"{tmp_path / 'x.en'} has 3 lines but {tmp_path / 'x.de'} has 2" in message
    assert "\n" not in message


def test_missing_path_is_a_corpus_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.tsv")
    with pytest.raises(CorpusError, match=r"no file matches .*nope\.tsv"):
        resolve_input(InputConfig(name="t", format="tsv", path=missing))
    glob = str(tmp_path / "*.en")
    with pytest.raises(CorpusError, match=r"no file matches .*\*\.en"):
        resolve_input(InputConfig(name="a", source=glob, target=glob))


def test_corrupt_gzip_is_a_corpus_error(tmp_path: Path) -> None:
    for lang in ("en", "es"):
        (tmp_path / f"x.{lang}.gz").write_bytes(b"not gzip data\n")
    spec = InputConfig(name="z", source=str(tmp_path / "x.en.gz"), target=str(tmp_path / "x.es.gz"))
    with pytest.raises(CorpusError, match=r"cannot read .*x\.en\.gz"):
        resolve_input(spec)


def test_globbed_gzip_parts_are_read_in_lock_step(tmp_path: Path) -> None:
    for part, lines in (("1", ["a", "b"]), ("2", ["c"])):
        for lang in ("en", "es"):
            data = "".join(f"{w}-{lang}\n" for w in lines).encode()
            (tmp_path / f"part{part}.{lang}.gz").write_bytes(gzip.compress(data))
    spec = InputConfig(
        name="g", source=str(tmp_path / "part*.en.gz"), target=str(tmp_path / "part*.es.gz")
    )
    resolved = resolve_input(spec)
    assert resolved.lines == 3
    expected = [
        ("g", 1, "a-en", "a-es", ""),
        ("g", 2, "b-en", "b-es", ""),
        ("g", 3, "c-en", "c-es", ""),
    ]
    with _pipeline() as p:
        assert_that(p | ReadCorpus(resolved), equal_to(expected))


def test_tsv_defects_become_records_with_reasons(tmp_path: Path) -> None:
    path = tmp_path / "c.tsv"
    path.write_bytes(
        b"id\tuno\tone\nbroken line\n2\tdos\xff\ttwo\n3\tt\x00res\tthree\r\n4\tcuatro\tfour"
    )
    spec = InputConfig(name="t", format="tsv", path=str(path), source_column=2, target_column=1)
    expected = [
        ("t", 1, "one", "uno", ""),
        ("t", 2, "broken line", "", "too_few_columns"),
        ("t", 3, "2\tdos\ufffd\ttwo", "", "invalid_utf8"),
        ("t", 4, "3\ttres\tthree", "", "nul_byte"),
        ("t", 5, "four", "cuatro", ""),
    ]
    with _pipeline() as p:
        assert_that(p | ReadCorpus(resolve_input(spec)), equal_to(expected))


def test_scan_lines_finds_chunk_offsets(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x\nyy\nzzz\nw")
    assert scan_lines(str(tmp_path / "a"), 2) == (4, (5,))
    assert scan_lines(str(tmp_path / "a"), 1) == (4, (2, 5, 9))
    (tmp_path / "b").write_bytes(b"x\ny\n")
    assert scan_lines(str(tmp_path / "b"), 2) == (2, ())


def test_big_files_are_read_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "CHUNK_LINES", 2)
    sources = ["\ufeffa", "b", "c", "d", "e"]
    (tmp_path / "x.en").write_text("\n".join(sources), encoding="utf-8")
    (tmp_path / "x.es").write_text("".join(f"{s.upper()}\n" for s in sources), encoding="utf-8")
    tsv_lines = "".join(f"{s}\t{s[-1]}!\n" for s in sources)
    (tmp_path / "x.tsv").write_text(tsv_lines, encoding="utf-8")
    aligned = resolve_input(
        InputConfig(name="x", source=str(tmp_path / "x.en"), target=str(tmp_path / "x.es"))
    )
    tsv = resolve_input(InputConfig(name="t", format="tsv", path=str(tmp_path / "x.tsv")))
    assert [t.lines for t in aligned.tasks] == [2, 2, 1] == [t.lines for t in tsv.tasks]
    letters = "abcde"
    with _pipeline() as p:
        assert_that(
            p | "Aligned" >> ReadCorpus(aligned),
            equal_to([("x", i + 1, c, c.upper(), "") for i, c in enumerate(letters)]),
        )
        assert_that(
            p | "Tsv" >> ReadCorpus(tsv),
            equal_to([("t", i + 1, c, f"{c}!", "") for i, c in enumerate(letters)]),
            label="CheckTsv",
        )


def test_a_file_that_shrinks_while_read_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.tsv").write_text("a\tb\nc\td\n")
    resolved = resolve_input(InputConfig(name="t", format="tsv", path=str(tmp_path / "x.tsv")))
    (tmp_path / "x.tsv").write_text("a\tb\n")
    with pytest.raises(CorpusError, match=r"x\.tsv changed length while being read \(line 2\)"):
        list(readers.read_task(resolved.tasks[0]))
