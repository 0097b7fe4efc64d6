"""The export gate's rules, blessing record and refusal line, on synthetic reports."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from core.config_fields import ConfigError, build_section
from seq2seq.config import GateConfig
from seq2seq.gate import blessing_record, refusal_line, refusals

SIGNATURE = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"


def report(tmp_path: Path, bleu: float, baseline: float | None, p_value: float) -> dict[str, Any]:
    """A report of ``seq2seq.evaluation.run`` as far as the gate reads it."""
    (tmp_path / "test.en").write_text("a\nb\n", encoding="utf-8")
    (tmp_path / "test.es").write_text("x\ny\n", encoding="utf-8")
    significance = None
    if baseline is not None:
        entry = {
            "baseline": baseline,
            "system": bleu,
            "delta": bleu - baseline,
            "delta_ci95": {"mean": bleu - baseline, "low": bleu - baseline - 1, "high": 0.5},
            "p_value": p_value,
            "signature": SIGNATURE + "|seed:12345|bs:1000",
        }
        significance = {"test": "bs", "samples": 1000, "seed": 12345, "metrics": {"bleu": entry}}
    return {
        "bleu": bleu,
        "chrf": 40.0,
        "ter": 60.0,
        "metrics": {"bleu": {"signature": SIGNATURE}},
        "source": str(tmp_path / "test.en"),
        "references": [str(tmp_path / "test.es")],
        "sentences": 2,
        "significance": significance,
    }


@pytest.mark.parametrize(
    ("bleu", "baseline", "p_value", "expected"),
    [
        (20.0, 20.5, 0.30, []),  # a little lower, not significantly: passes
        (21.0, 20.0, 0.01, []),  # significantly better
        (20.0, 20.0, 0.001, []),  # identical scores (sacrebleu's p for identical systems)
        (20.0, 20.5, 0.01, ["significantly below the served version (p < 0.05)"]),
        (18.0, 20.0, 0.20, ["by more than export.gate.max_drop 1 BLEU"]),
        (
            18.0,
            20.0,
            0.01,
            ["significantly below", "by more than export.gate.max_drop 1 BLEU"],
        ),
        (4.0, None, 1.0, ["below export.gate.min_bleu 5"]),  # nothing served: minimum only
        (6.0, None, 1.0, []),
    ],
)
def test_rules(
    tmp_path: Path, bleu: float, baseline: float | None, p_value: float, expected: list[str]
) -> None:
    reasons = refusals(report(tmp_path, bleu, baseline, p_value), GateConfig(min_bleu=5.0))
    assert len(reasons) == len(expected)
    for reason, fragment in zip(reasons, expected, strict=True):
        assert fragment in reason


def test_no_regression_off_checks_only_the_minimum(tmp_path: Path) -> None:
    gate = GateConfig(no_regression=False)
    assert refusals(report(tmp_path, 10.0, 30.0, 0.001), gate) == []


def test_blessing_record_and_refusal_line(tmp_path: Path) -> None:
    data = report(tmp_path, 18.0, 20.0, 0.004)
    served = tmp_path / "models" / "demo" / "3"
    reasons = refusals(data, GateConfig())
    path = tmp_path / "eval" / "gate" / "report.md"
    record = blessing_record(data, GateConfig(), served, reasons, True, path)
    assert record["decision"] == "refused" and record["forced"] is True
    assert record["candidate"] == {"bleu": 18.0, "chrf": 40.0, "ter": 60.0}
    assert record["baseline"] == {"version": 3, "path": str(served.absolute()), "bleu": 20.0}
    assert record["delta"] == -2.0 and record["p_value"] == 0.004
    assert record["signature"] == SIGNATURE
    assert record["paired_test"]["signature"].endswith("bs:1000")
    assert record["rules"] == {
        "min_bleu": 0.0,
        "no_regression": True,
        "alpha": 0.05,
        "max_drop": 1.0,
    }
    digest = hashlib.sha256(b"a\nb\nx\ny\n").hexdigest()
    assert record["test_set"]["sha256"] == digest and record["test_set"]["sentences"] == 2
    assert record["report"] == str(path.absolute())
    line = refusal_line(record, tmp_path / "models" / "demo")
    assert "\n" not in line
    for part in (
        "candidate BLEU 18.00",
        "served version 3 BLEU 20.00",
        "Δ -2.00, 95% CI [-3.00, +0.50], p = 0.0040",
        "significantly below the served version (p < 0.05)",
        f"nothing written under {tmp_path / 'models' / 'demo'}",
        f"report: {path.absolute()}",
        "--force",
    ):
        assert part in line, part


def test_nothing_to_check_is_recorded_without_scores() -> None:
    record = blessing_record(None, GateConfig(), None, [], False)
    assert record["decision"] == "blessed" and record["candidate"] is None
    assert record["baseline"] is None and "nothing to score" in record["note"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"alpha": 0.0}, "alpha must be in (0, 1)"),
        ({"max_drop": -1}, "min_bleu and max_drop must be >= 0"),
        ({"min_bleu": "high"}, "gate.min_bleu: expected float"),
    ],
)
def test_invalid_gate_settings(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_section(GateConfig, raw, "export.gate")
