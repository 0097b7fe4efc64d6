"""Decoding the serving script's input line by line under an --errors policy."""

from __future__ import annotations

import io

import pytest

from serving.input_lines import LineDecoder

DATA = b"a\n\xff b\nc\r\nd\re\n\xe2\x82\n"


def decode(
    errors: str, universal_newlines: bool = False
) -> tuple[list[str], LineDecoder, list[str]]:
    reports: list[str] = []
    decoder = LineDecoder(errors, reports.append, universal_newlines)
    return list(decoder.decode(io.BytesIO(DATA))), decoder, reports


def test_skip_reports_bad_lines_and_gives_empty_ones() -> None:
    lines, decoder, reports = decode("skip")
    assert lines == ["a", "", "c\r", "d\re", ""]  # stdin: only \n ends a line, as before
    assert reports == [
        "line 2 is not valid UTF-8 (invalid start byte at byte 0); written as an empty line",
        "line 5 is not valid UTF-8 (unexpected end of data at byte 0); written as an empty line",
    ]
    assert decoder.summary() == "2 line(s) were not valid UTF-8: written as an empty line"
    assert decoder.stopped is None


def test_replace_and_universal_newlines() -> None:
    lines, decoder, reports = decode("replace", universal_newlines=True)
    assert lines == ["a", "\ufffd b", "c", "d", "e", "\ufffd"]  # as text files read them
    assert decoder.summary() == "2 line(s) were not valid UTF-8: invalid bytes replaced with U+FFFD"
    assert [r.split(" (")[0] for r in reports] == [
        "line 2 is not valid UTF-8",
        "line 6 is not valid UTF-8",
    ]


def test_strict_stops_at_the_first_bad_line() -> None:
    lines, decoder, reports = decode("strict")
    assert lines == ["a"] and reports == [] and decoder.summary() is None
    assert decoder.stopped == "line 2 is not valid UTF-8 (invalid start byte at byte 0)"


def test_reports_are_capped_and_policies_checked() -> None:
    reports: list[str] = []
    decoder = LineDecoder("skip", reports.append, max_reports=3)
    assert list(decoder.decode([b"\xff\n"] * 50)) == [""] * 50
    assert len(reports) == 3 and decoder.bad == 50
    with pytest.raises(ValueError, match="errors must be one of"):
        LineDecoder("ignore", reports.append)
