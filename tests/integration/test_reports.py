"""Evaluation reports of a trained tiny run: sacrebleu agreement, determinism, CLI options."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nmt import stages
from nmt.cli import main
from nmt.config import load_config

# The slow tier (make test-all, CI): integration tests run servers, Dask clusters, real
# corpora or whole evaluations.
pytestmark = pytest.mark.slow

SACREBLEU = Path(sys.executable).parent / "sacrebleu"
PNG = b"\x89PNG\r\n\x1a\n"


def sacrebleu(
    refs: list[Path], hyps: list[Path], *options: str
) -> subprocess.CompletedProcess[str]:
    command = [str(SACREBLEU), *map(str, refs), "-i", *map(str, hyps), "-w", "4", *options]
    return subprocess.run(command, capture_output=True, text=True)


def sacrebleu_json(refs: list[Path], hyp: Path, *options: str) -> list[dict[str, Any]]:
    result = sacrebleu(refs, [hyp], "--format", "json", *options)
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    return parsed if isinstance(parsed, list) else [parsed]


def test_default_report_has_every_part(tiny_run: dict[str, Path]) -> None:
    eval_dir = tiny_run["run_dir"] / "eval"
    report = json.loads((eval_dir / "report.json").read_text(encoding="utf-8"))
    test_lines = (tiny_run["run_dir"] / "data" / "text" / "test.es").read_text().splitlines()
    assert report["schema_version"] == 1 and report["sentences"] == len(test_lines)
    assert report["system"]["kind"] == "checkpoint"
    assert set(report["metrics"]) == {"bleu", "chrf", "chrf++", "ter"}
    assert report["bleu"] == report["metrics"]["bleu"]["score"]
    assert len(report["samples"]) == min(20, len(test_lines)) and len(report["best"]) == 5
    assert sum(b["sentences"] for b in report["length_buckets"]) == len(test_lines)
    assert report["significance"] is None
    full = report["full_vocabulary"]  # tiny.yaml searches a shortlist: scored both ways
    assert 0 <= full["identical"] <= len(test_lines) and 0 <= full["bleu"] <= 100
    assert len(Path(full["hypotheses"]).read_text(encoding="utf-8").splitlines()) == len(test_lines)
    markdown = (eval_dir / "report.md").read_text(encoding="utf-8")
    assert "## Shortlist against the whole vocabulary" in markdown
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert "training_curves.png" in links and len(links) == 1 + 3
    for link in links:
        assert (eval_dir / link).read_bytes().startswith(PNG), link


def test_scores_match_the_sacrebleu_command_line(tiny_run: dict[str, Path]) -> None:
    eval_dir = tiny_run["run_dir"] / "eval"
    report = json.loads((eval_dir / "report.json").read_text(encoding="utf-8"))
    refs = [Path(p) for p in report["references"]]
    hyp = Path(report["hypotheses"])
    plain = sacrebleu_json(refs, hyp, "-m", "bleu", "chrf", "ter")
    plain += sacrebleu_json(refs, hyp, "-m", "chrf", "--chrf-word-order", "2")
    for cli, key in zip(plain, ("bleu", "chrf", "ter", "chrf++"), strict=True):
        ours = report["metrics"][key]
        assert cli["name"] == ours["name"]
        assert cli["score"] == float(f"{ours['score']:.4f}"), key
        assert cli["signature"] == ours["signature"].replace("bs:1000|seed:12345|", ""), key
    confident = sacrebleu_json(refs, hyp, "-m", "chrf", "ter", "--confidence")
    keys = ["chrf", "ter"]
    # `sacrebleu --confidence` crashes on BLEU when some resamples have no unigram match, and
    # reports no interval when the BLEU of the whole test set is 0.
    bleu = sacrebleu(refs, [hyp], "-m", "bleu", "--confidence", "--format", "json")
    if bleu.returncode == 0 and "confidence_mean" in json.loads(bleu.stdout):
        confident.append(json.loads(bleu.stdout))
        keys.append("bleu")
    for cli, key in zip(confident, keys, strict=True):
        ours = report["metrics"][key]
        assert cli["signature"] == ours["signature"], key
        assert cli["confidence_mean"] == float(f"{ours['ci95']['mean']:.4f}"), key
        assert cli["confidence_var"] == float(f"{ours['ci95']['halfwidth']:.4f}"), key


def test_same_inputs_give_the_same_report(tiny_run: dict[str, Path], tmp_path: Path) -> None:
    config = load_config(tiny_run["config"])
    stages.evaluate_stage(config, out_dir=tmp_path)
    first = {p.name: p.read_bytes() for p in sorted(tmp_path.iterdir())}
    stages.evaluate_stage(config, out_dir=tmp_path)
    second = {p.name: p.read_bytes() for p in sorted(tmp_path.iterdir())}
    assert first == second and "attention_1.png" in first
    default = tiny_run["run_dir"] / "eval"
    assert first["hypotheses.txt"] == (default / "hypotheses.txt").read_bytes()
    assert first["training_curves.png"] == (default / "training_curves.png").read_bytes()


def test_exported_model_several_references_and_a_baseline(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    text = tiny_run["run_dir"] / "data" / "text"
    refs = [text / "test.es", tmp_path / "second.es"]
    refs[1].write_text(text.joinpath("test.es").read_text().lower(), encoding="utf-8")
    baseline = tmp_path / "baseline.es"
    baseline.write_text(text.joinpath("test.en").read_text(), encoding="utf-8")  # copy baseline
    args = ["evaluate", str(tiny_run["config"]), "--model", str(tiny_run["export_base"])]
    args += ["--src", str(text / "test.en"), "--baseline", str(baseline), "--out", str(tmp_path)]
    assert main([*args, "--ref", str(refs[0]), "--ref", str(refs[1])]) == 0
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["system"] == {
        "kind": "saved_model",
        "path": str(tiny_run["export_base"] / "1"),
        "decode": None,
    }
    assert report["references"] == [str(p) for p in refs]
    assert report["metrics"]["bleu"]["signature"].startswith("nrefs:2|")
    assert report["figures"]["attention"] == [] and report["figures"]["notes"]
    assert report["sentences"] == len(text.joinpath("test.en").read_text().splitlines())
    significance = report["significance"]
    assert significance["baseline"] == str(baseline) and significance["test"] == "bs"
    hyps = [baseline, tmp_path / "hypotheses.txt"]
    cli = sacrebleu(refs, hyps, "-m", "chrf", "ter", "--paired-bs", "--format", "text")
    assert cli.returncode == 0, cli.stderr
    p_values = [float(p) for p in re.findall(r"p = (\d\.\d{4})", cli.stdout)]
    ours = [significance["metrics"][key]["p_value"] for key in ("chrf", "ter")]
    assert p_values == [float(f"{p:.4f}") for p in ours]


@pytest.mark.parametrize("bad", ["short_ref", "short_baseline", "ref_without_src"])
def test_mismatched_inputs_exit_2_naming_the_counts(
    bad: str, tiny_run: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tiny_run["run_dir"] / "data" / "text" / "test.en"
    lines = source.read_text(encoding="utf-8").splitlines()
    short = tmp_path / "short.txt"
    short.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    args = ["evaluate", str(tiny_run["config"]), "--out", str(tmp_path / "out")]
    if bad == "short_ref":
        args += ["--src", str(source), "--ref", str(short)]
        expected = f"has {len(lines)} lines but the reference file(s) {short} have {len(lines) - 1}"
    elif bad == "short_baseline":
        args += ["--baseline", str(short)]
        expected = f"baseline hypothesis file {short} has {len(lines) - 1} lines"
    else:
        args += ["--ref", str(source)]
        expected = "--src and --ref go together"
    assert main(args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "nmt: error:" in line]
    assert len(errors) == 1 and expected in errors[0], errors
    assert not (tmp_path / "out").exists()


def test_the_served_version_as_baseline_is_translated_beside_the_system(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    text = tiny_run["run_dir"] / "data" / "text"
    files = {}
    for lang in ("en", "es"):
        files[lang] = tmp_path / f"five.{lang}"
        lines = text.joinpath(f"test.{lang}").read_text(encoding="utf-8").splitlines()[:5]
        files[lang].write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["evaluate", str(tiny_run["config"]), "--set", "evaluate.baseline=served"]
    args += ["--model", str(tiny_run["export_base"] / "1"), "--src", str(files["en"])]
    assert main([*args, "--ref", str(files["es"]), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    significance = report["significance"]
    served = {"kind": "saved_model", "path": str(tiny_run["export_base"] / "1"), "decode": None}
    assert significance["baseline_system"] == served
    assert significance["baseline"] == str(out / "baseline_hypotheses.txt")
    # The same model on both sides: the same translations, no difference.
    assert (out / "baseline_hypotheses.txt").read_text() == (out / "hypotheses.txt").read_text()
    bleu = significance["metrics"]["bleu"]
    assert bleu["baseline"] == bleu["system"] == report["bleu"] and bleu["delta"] == 0.0
    assert bleu["delta_ci95"] == {"mean": 0.0, "low": 0.0, "high": 0.0}
    assert "Baseline: saved model" in (out / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("baseline", ["missing", "served"])
def test_a_baseline_that_is_not_there_exits_2(
    baseline: str, tiny_run: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["evaluate", str(tiny_run["config"]), "--out", str(tmp_path / "out")]
    args += ["--set", f"export.base_dir={tmp_path / 'models'}"]
    if baseline == "missing":
        args += ["--baseline", str(tmp_path / "missing")]
        expected = f"{tmp_path / 'missing'}: baseline not found (expected 'served', an export"
    else:
        args += ["--baseline", "served"]
        expected = f"baseline 'served': no version is served under {tmp_path / 'models' / 'tiny'}"
    assert main(args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "nmt: error:" in line]
    assert len(errors) == 1 and expected in errors[0], errors
    assert not (tmp_path / "out").exists()
