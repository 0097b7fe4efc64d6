"""``nmt translate``: user errors in one line with status 2, Beam options passed through."""

from __future__ import annotations

from pathlib import Path

import pytest

from nmt.cli import main
from pipeline.batch_translate import with_runner

pytestmark = pytest.mark.usefixtures("tiny_exports_loaded_once")


def test_a_missing_model_or_an_empty_glob_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in.txt").write_text("the cat .\n", encoding="utf-8")
    out = f"{tmp_path}/out/"
    missing = ["translate", "--model", str(tmp_path / "nope"), "--input", str(tmp_path / "in.txt")]
    assert main([*missing, "--output", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nmt: error: ")
    assert f"{tmp_path / 'nope'}: no version folders" in err
    empty = ["translate", "--model", str(tmp_path), "--input", str(tmp_path / "*.en")]
    assert main([*empty, "--output", out, "--direct_num_workers=2"]) == 2
    err = capsys.readouterr().err
    assert err == f"nmt: error: no file matches {tmp_path / '*.en'}\n"
    assert not (tmp_path / "out").exists()


def test_options_it_does_not_know_are_beam_options_of_translate_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["train", "configs/tiny.yaml", "--direct_num_workers=2"])
    assert stopped.value.code == 2
    assert "unrecognized arguments: --direct_num_workers=2" in capsys.readouterr().err


def test_the_local_runner_is_the_default() -> None:
    assert with_runner(()) == ("--runner=FnApiRunner",)
    assert with_runner(("--direct_num_workers=2",)) == (
        "--runner=FnApiRunner",
        "--direct_num_workers=2",
    )
    dask = ("--runner=apache_beam.runners.dask.dask_runner.DaskRunner", "--dask_npartitions=4")
    assert with_runner(dask) == dask
    assert with_runner(("--runner", "FlinkRunner")) == ("--runner", "FlinkRunner")


def test_the_command_translates_with_search_and_beam_options(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "in.txt").write_text("the cat .\n\nmy sister .\n", encoding="utf-8")
    args = ["translate", "--model", str(tiny_run["export_base"] / "1")]
    args += ["--input", str(tmp_path / "in.txt"), "--output", f"{tmp_path}/out/de."]
    args += ["--beam-size", "1", "--max-length-a", "0", "--max-length-b", "1"]
    assert main([*args, "--direct_num_workers=1", "--direct_running_mode=in_memory"]) == 0
    lines = (tmp_path / "out" / "de.in.txt").read_text(encoding="utf-8").split("\n")
    # At most one output piece per sentence: the length options took effect.
    assert len(lines) == 4 and lines[1] == lines[3] == ""
    assert all(len(line.split()) <= 1 for line in lines)
    assert (tmp_path / "out" / "de.rejects.tsv").read_bytes() == b""


def test_an_unknown_runner_or_an_input_as_output_is_one_line_and_status_2(
    tiny_run: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("the cat .\n", encoding="utf-8")
    args = ["translate", "--model", str(tiny_run["export_base"] / "1"), "--input", str(source)]
    assert main([*args, "--output", f"{tmp_path}/out/", "--runner=NoSuchRunner"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("nmt: error: Beam pipeline options: Unexpected pipeline runner")
    assert main([*args, "--output", f"{tmp_path}/"]) == 2
    assert capsys.readouterr().err.endswith(
        "an input would be overwritten by the output; give another --output\n"
    )
    assert source.read_text(encoding="utf-8") == "the cat .\n"
