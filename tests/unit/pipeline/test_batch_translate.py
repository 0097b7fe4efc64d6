"""Batch translation on Beam with the tiny export: the serving script's bytes with one or two
workers; bad lines rejected, counted and listed with aligned outputs; n-best JSON lines."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from core.contract import BEAM_SIZE, resolve_version
from core.saved_model import load_translate_fn
from pipeline.batch_translate import TranslateSettings, run_translate
from serving.translate import main as serving_translate

pytestmark = pytest.mark.usefixtures("tiny_exports_loaded_once")

SENTENCE = "the black cats eat the fish . my sister will not open the red windows ."
# Several files, several chunks each (4 lines), empty lines, a CRLF line, a bad UTF-8 line
# (an empty output line for both commands) and a last line without a newline.
FILES = {
    "a.txt": b"the cat .\n\nmy sister will not open the red windows .\r\nthe black cats eat\n"
    b"\n\nthe fish .\nmy sister\nthe red cats eat the black fish .\n",
    "b.txt": b"open \xc3 the windows .\nthe black cats eat the fish .\n\nwill not\nthe",
    "c.txt": b"",
    "d.txt": "".join(" ".join(SENTENCE.split()[: 2 + n % 13]) + "\n" for n in range(11)).encode(),
}
CHUNK_LINES, BATCH_SIZE = 4, 3


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    return folder


def translate(export: Path, inputs: tuple[str, ...], out: Path, **kwargs: Any) -> dict:
    """``run_translate`` into ``out/`` with small chunks and batches."""
    settings = TranslateSettings(
        model=export,
        inputs=inputs,
        output=f"{out}/",
        chunk_lines=CHUNK_LINES,
        batch_size=BATCH_SIZE,
        **kwargs,
    )
    return run_translate(settings)


def outputs(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module")
def one_worker(tiny_run: dict[str, Path], corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    """The outputs of one in-process worker with the export's stored options (beam 3)."""
    out = tmp_path_factory.mktemp("one-worker")
    translate(tiny_run["export_base"], (str(corpus / "*.txt"),), out)
    return outputs(out)


def serving_script(export: Path, source: Path, out: Path, beam_size: int | None) -> bytes:
    args = ["--model", str(export), "--input", str(source), "--output", str(out)]
    args += ["--batch-size", str(BATCH_SIZE)]
    assert serving_translate(args + (["--beam-size", str(beam_size)] if beam_size else [])) == 0
    return out.read_bytes()


@pytest.mark.parametrize("beam_size", [1, None], ids=["greedy", "stored-beam"])
def test_outputs_equal_the_serving_scripts_byte_for_byte(
    tiny_run: dict[str, Path],
    corpus: Path,
    one_worker: dict[str, bytes],
    tmp_path: Path,
    beam_size: int | None,
) -> None:
    export = tiny_run["export_base"]
    if beam_size is None:
        got = one_worker
    else:
        translate(export, (str(corpus / "*.txt"),), tmp_path / "out", options={BEAM_SIZE: 1})
        got = outputs(tmp_path / "out")
    for name in ("a.txt", "b.txt", "d.txt"):
        expected = serving_script(export, corpus / name, tmp_path / f"ref-{name}", beam_size)
        assert got[name] == expected, name
    assert got["c.txt"] == b""  # an empty input, an empty output (as the script's)
    lines = got["d.txt"].decode().splitlines()
    assert len(lines) == 11 and len(set(lines)) > 5  # sources of different lengths differ
    assert got["a.txt"].decode().split("\n")[1::4] == ["", "", ""]  # empty lines kept in place


@pytest.mark.slow  # two Beam workers, each loading the model
@pytest.mark.parametrize("mode", ["multi_threading", "multi_processing"])
def test_two_workers_write_the_same_bytes_as_one(
    tiny_run: dict[str, Path],
    corpus: Path,
    one_worker: dict[str, bytes],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    beam_args = ("--runner=FnApiRunner", "--direct_num_workers=2", f"--direct_running_mode={mode}")
    inputs = (str(corpus / "*.txt"),)
    with caplog.at_level(logging.INFO, logger="pipeline.translate"):
        summary = translate(tiny_run["export_base"], inputs, tmp_path, beam_args=beam_args)
    assert outputs(tmp_path) == one_worker
    assert summary["lines"] == 25 and summary["files"] == 4
    if mode == "multi_threading":  # two threads of this process, one model
        loads = [r for r in caplog.records if ": loaded " in r.getMessage()]
        assert len(loads) == 1


def test_bad_lines_become_empty_lines_counted_and_listed(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    long_line = "the black cats eat the fish . " * 60  # 420 pieces or more; the model reads 199
    source = tmp_path / "in"
    source.mkdir()
    packed = b"the cat .\nbad \xff line\n" + long_line.encode() + b"\n\nmy sister .\n"
    (source / "x.en.gz").write_bytes(gzip.compress(packed))
    (source / "y.en").write_bytes(b"\xc3\n" + long_line.encode() + b"\nthe fish .")
    summary = translate(tiny_run["export_base"], (str(source / "*.en*"),), tmp_path / "out")
    x = (tmp_path / "out" / "x.en").read_text(encoding="utf-8").split("\n")
    y = (tmp_path / "out" / "y.en").read_text(encoding="utf-8").split("\n")
    assert len(x) == 6 and x[0] and x[1:4] == ["", "", ""] and x[4] and x[5] == ""
    assert len(y) == 4 and y[:2] == ["", ""] and y[2] and y[3] == ""
    assert summary["rejected"] == {"invalid_utf8": 2, "too_long": 2}
    counters = summary["counters"]
    assert counters["lines"] == 8
    assert counters["rejected_invalid_utf8"] == 2 and counters["rejected_too_long"] == 2
    rejects = (tmp_path / "out" / "rejects.tsv").read_text(encoding="utf-8").splitlines()
    assert rejects == [
        f"{source / 'x.en.gz'}\t2\tinvalid_utf8\tbad \ufffd line\t",
        f"{source / 'x.en.gz'}\t3\ttoo_long\t{long_line}\t",
        f"{source / 'y.en'}\t1\tinvalid_utf8\t\ufffd\t",
        f"{source / 'y.en'}\t2\ttoo_long\t{long_line}\t",
    ]


def test_nbest_lines_hold_every_hypothesis_and_score_best_first(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    texts = ["the black cats eat the fish .", "", "my sister will not open the red windows ."]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    translate(tiny_run["export_base"], (str(tmp_path / "in.txt"),), tmp_path / "out", nbest=True)
    lines = (tmp_path / "out" / "in.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[1] == ""
    best = load_translate_fn(resolve_version(tiny_run["export_base"], None))
    for line, text in zip(lines[::2], texts[::2], strict=True):
        hypotheses = json.loads(line)
        assert sorted(hypotheses) == ["scores", "translations"]
        assert len(hypotheses["translations"]) == len(hypotheses["scores"]) == 3  # beam 3
        assert hypotheses["translations"][0] == best([text])[0]
        assert all(isinstance(score, float) and score <= 0 for score in hypotheses["scores"])
