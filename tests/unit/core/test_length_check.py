"""Over-long lines: their warnings, counted after the normalisation the export applies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from core.length_check import InputSettings, LengthChecker


def counter(texts: list[str]) -> list[int]:
    return [len(text.split()) for text in texts]


def test_length_checker_reports_overlong_lines_with_their_numbers() -> None:
    messages: list[str] = []
    checker = LengthChecker(counter, max_input_length=4, report=messages.append, max_reports=2)
    lines = ["a b c", "a b c d", "", "x " * 9, "y " * 5]
    assert list(checker.check(iter(lines), block=2)) == lines
    assert checker.truncated == 3
    assert len(messages) == 2  # capped; the summary has the total
    assert messages[0].startswith("line 2 has 4 source pieces; the model reads only the first 3")
    assert messages[1].startswith("line 4 has 9 source pieces")
    assert checker.summary() == "3 line(s) were longer than the model reads and were truncated"


def test_length_checker_is_lazy() -> None:
    pulled = 0

    def source() -> Iterator[str]:
        nonlocal pulled
        for _ in range(10_000):
            pulled += 1
            yield "a b"

    checker = LengthChecker(counter, max_input_length=10, report=print)
    for i, _ in enumerate(checker.check(source(), block=100)):
        assert pulled - i <= 100
    assert checker.summary() is None


def test_pieces_are_counted_after_the_exports_normalisation(tiny_run: dict[str, Path]) -> None:
    inputs = InputSettings.read(tiny_run["export_base"] / "1")
    assert inputs is not None
    assert inputs.max_pieces == 199  # max_input_length 200, one position for end-of-sentence
    checker = LengthChecker.for_export(inputs, report=print)
    raw = ["the black cat&nbsp;eats&#x20;the\u00a0fish .", "  the\tblack cats &amp; dogs  "]
    clean = ["the black cat eats the fish .", "the black cats & dogs"]
    assert checker.count_pieces(raw) == checker.count_pieces(clean)
