"""The serving script: counting lines, translating a file, over-long line warnings."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from core.contract import resolve_version
from core.saved_model import load_translate_fn
from serving.translate import _count_lines, main

pytestmark = pytest.mark.usefixtures("tiny_exports_loaded_once")


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


def test_options_not_given_keep_the_exports_stored_values(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    export = resolve_version(tiny_run["export_base"], None)
    texts = ["the black cats eat the fish .", "my sister will not open the red windows ."]
    default = load_translate_fn(export)(texts)
    # The export stores beam 3, a = 1.5, b = 5: naming only the beam size changes nothing.
    assert load_translate_fn(export, {"beam_size": 3})(texts) == default
    source = tmp_path / "in.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    output = tmp_path / "out.txt"
    args = ["--model", str(tiny_run["export_base"]), "--input", str(source), "--output"]
    # One option alone takes effect: at most one output piece per sentence.
    assert main([*args, str(output), "--max-length-a", "0", "--max-length-b", "1"]) == 0
    short = output.read_text(encoding="utf-8").splitlines()
    assert short != default and all(len(line.split()) <= 1 for line in short)


def test_verbose_shows_the_libraries_notices(tiny_run: dict[str, Path]) -> None:
    """``--verbose`` lets SentencePiece's and TensorFlow's notices through. (Without it the
    script prints nothing but translations: the end-to-end test checks that, in a fresh process
    with ``TF_CPP_MIN_LOG_LEVEL`` unset.)"""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-m", "serving.translate", "--model", str(tiny_run["export_base"])]
    done = subprocess.run(
        [*command, "--verbose"],
        input="the black cats eat the fish .\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1
    assert "precompiled_charsmap is empty" in done.stderr


GOOD = ["the black cats eat the fish .", "my sister will not open the red windows ."]
BAD_NEAR_THE_END = b"".join(f"{GOOD[i % 2]}\r\n".encode() for i in range(5)) + (
    b"the cat \xc3 .\nx\n"  # line 6 ends in half a two-byte sequence
)


@pytest.fixture(scope="module")
def translate(tiny_run: dict[str, Path]) -> Callable[[list[str]], list[str]]:
    """The export's translate function, each text alone (what any batching must match)."""
    translate_fn = load_translate_fn(resolve_version(tiny_run["export_base"], None))
    return lambda texts: [translate_fn([text])[0] for text in texts]


def test_undecodable_lines_are_reported_and_written_empty(
    tiny_run: dict[str, Path],
    translate: Callable[[list[str]], list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Invalid UTF-8 on stdin: every valid line is translated, the bad ones give empty lines."""
    data = f"{GOOD[0]}\n".encode() + b"caf\xe9 .\n" + f"{GOOD[1]}\n".encode() + b"\xff\xfe\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    output = tmp_path / "out.txt"
    assert main(["--model", str(tiny_run["export_base"]), "--output", str(output)]) == 0
    good = translate(GOOD)
    assert output.read_text(encoding="utf-8").split("\n") == [good[0], "", good[1], "", ""]
    err = capsys.readouterr().err
    assert "warning: line 2 is not valid UTF-8 (invalid continuation byte at byte 3)" in err
    assert "warning: line 4 is not valid UTF-8 (invalid start byte at byte 0)" in err
    assert "2 line(s) were not valid UTF-8: written as an empty line" in err
    assert "line 1 " not in err and "line 3 " not in err and "Traceback" not in err


def test_errors_strict_writes_every_line_before_the_bad_one(
    tiny_run: dict[str, Path],
    translate: Callable[[list[str]], list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, output = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_bytes(BAD_NEAR_THE_END)
    args = ["--model", str(tiny_run["export_base"]), "--input", str(source)]
    assert main([*args, "--output", str(output), "--errors", "strict"]) == 2
    good = translate(GOOD)
    assert output.read_text(encoding="utf-8").splitlines() == [good[i % 2] for i in range(5)]
    err = capsys.readouterr().err
    assert "error: line 6 is not valid UTF-8 (invalid continuation byte at byte 8)" in err


def test_errors_replace_translates_the_bad_line_with_replacement_characters(
    tiny_run: dict[str, Path],
    translate: Callable[[list[str]], list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, output = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_bytes(BAD_NEAR_THE_END)
    args = ["--model", str(tiny_run["export_base"]), "--input", str(source)]
    assert main([*args, "--output", str(output), "--errors", "replace"]) == 0
    good = translate(GOOD)
    expected = [good[i % 2] for i in range(5)] + translate(["the cat \ufffd .", "x"])
    assert output.read_text(encoding="utf-8").splitlines() == expected
    err = capsys.readouterr().err
    assert "line 6 is not valid UTF-8 (invalid continuation byte at byte 8); invalid bytes" in err
