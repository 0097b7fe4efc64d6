"""The serving script: streaming in constant memory, empty lines, over-long line warnings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.contract import resolve_version
from core.length_sorted_batches import translate_stream
from core.saved_model import load_translate_fn
from serving.length_check import LengthChecker, normalize
from serving.translate import _count_lines, main


def upper(batch: list[str]) -> list[str]:
    assert all(line.strip() for line in batch), "empty lines must not reach the model"
    return [line.upper() for line in batch]


def test_stream_keeps_order_and_empty_lines() -> None:
    lines = ["b b b\n", "\n", "a\n", "   \n", "cc\n"]
    assert list(translate_stream(upper, lines, batch_size=2, chunk_size=3)) == [
        "B B B",
        "",
        "A",
        "",
        "CC",
    ]


def test_stream_runs_in_constant_memory_on_a_generator() -> None:
    """Lines are pulled lazily: never more than one chunk ahead of what was yielded."""
    pulled = 0
    total = 100_000

    def source() -> Iterator[str]:
        nonlocal pulled
        for i in range(total):
            pulled += 1
            yield f"line {i}\n" if i % 7 else "\n"

    chunk = 64
    out = 0
    for i, line in enumerate(translate_stream(upper, source(), batch_size=16, chunk_size=chunk)):
        assert pulled - i <= chunk, "the stream read too far ahead"
        assert line == (f"LINE {i}" if i % 7 else "")
        out += 1
    assert out == total


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


def test_normalize_matches_the_exported_graph() -> None:
    import tensorflow as tf

    from seq2seq.translator import TextNormalization, Translator

    texts = [
        "  a\t b  ",
        "&amp;lt; &lt;x&gt; &quot;q&quot; it&#39;s",
        "Cafe\u0301",
        "\u00a0x\u2003y",
    ]
    for form, unescape in (("NFC", True), ("NFKC", False), ("none", True)):
        graph = Translator.normalize(
            SimpleNamespace(normalization=TextNormalization(form, unescape)),  # type: ignore[arg-type]
            tf.constant(texts),
        )
        expected = [t.decode("utf-8") for t in graph.numpy()]
        assert [normalize(t, form, unescape) for t in texts] == expected


def test_count_lines(tmp_path: Path) -> None:
    for content, lines in ((b"", 0), (b"a\n", 1), (b"a\nb", 2), (b"\n\n\n", 3)):
        (tmp_path / "f").write_bytes(content)
        assert _count_lines(tmp_path / "f") == lines


def test_script_warns_about_overlong_lines(
    tiny_run: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.txt"
    long_line = "the black cats eat the fish . " * 60
    source.write_text(f"the cat .\n\n{long_line}\nmy sister\n", encoding="utf-8")
    output = tmp_path / "out.txt"
    args = ["--model", str(tiny_run["export_base"]), "--input", str(source)]
    assert main([*args, "--output", str(output)]) == 0
    lines = output.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 5 and lines[1] == "" and lines[4] == ""
    # Each line as the export translates it alone: sorting into batches kept the order.
    translate = load_translate_fn(resolve_version(tiny_run["export_base"], None))
    alone = [translate([text])[0] for text in ("the cat .", long_line, "my sister")]
    assert [lines[0], lines[2], lines[3]] == alone
    err = capsys.readouterr().err
    assert "warning: line 3 has" in err and "the model reads only the first 199" in err
    assert "warning: 1 line(s) were longer than the model reads" in err
    assert "line 1 " not in err and "line 4 " not in err
