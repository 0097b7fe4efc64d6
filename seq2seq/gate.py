"""The gate before serving: the rules of ``export.gate`` applied to an evaluation of the
candidate, and the blessing record the version it lets through carries.

The evaluation is a report of ``seq2seq.evaluation.run`` on the experiment's test split, with
the served version as its baseline when there is one. A candidate is refused when its BLEU is
below ``min_bleu``, or, with ``no_regression``, when it is below the served version
significantly (sacrebleu's paired test, p < ``alpha``) or by more than ``max_drop`` points.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seq2seq.config import GateConfig

BLESSED, REFUSED = "blessed", "refused"


class GateRefused(RuntimeError):
    """The gate refused a candidate: one line with both scores, the p-value and the report."""


def refusals(report: dict[str, Any], gate: GateConfig) -> list[str]:
    """Why the gate refuses the candidate scored in ``report`` (none: it passes)."""
    reasons = []
    if report["bleu"] < gate.min_bleu:
        reasons.append(f"its BLEU is below export.gate.min_bleu {gate.min_bleu:g}")
    test = report["significance"]
    if gate.no_regression and test is not None:
        entry = test["metrics"]["bleu"]
        if entry["delta"] < 0 and entry["p_value"] < gate.alpha:
            reasons.append(f"it is significantly below the served version (p < {gate.alpha:g})")
        if -entry["delta"] > gate.max_drop:
            reasons.append(
                f"it is below the served version by more than export.gate.max_drop "
                f"{gate.max_drop:g} BLEU"
            )
    return reasons


def _test_set(report: dict[str, Any]) -> dict[str, Any]:
    """The scored files, their line count and one SHA-256 over their bytes, in order."""
    digest = hashlib.sha256()
    for path in [report["source"], *report["references"]]:
        digest.update(Path(path).read_bytes())
    return {
        "source": report["source"],
        "references": report["references"],
        "sentences": report["sentences"],
        "sha256": digest.hexdigest(),
    }


def _comparison(report: dict[str, Any], served: Path | None) -> dict[str, Any]:
    """The baseline's part of the record: the served version and the paired test of BLEU."""
    test = report["significance"]
    if test is None or served is None:
        return {"baseline": None}
    entry = test["metrics"]["bleu"]
    return {
        "baseline": {
            "version": int(served.name),
            "path": str(served.absolute()),
            "bleu": entry["baseline"],
        },
        "delta": entry["delta"],
        "delta_ci95": entry["delta_ci95"],
        "p_value": entry["p_value"],
        "paired_test": {
            "test": test["test"],
            "samples": test["samples"],
            "seed": test["seed"],
            "signature": entry["signature"],
        },
    }


def blessing_record(
    report: dict[str, Any] | None,
    gate: GateConfig,
    served: Path | None,
    reasons: Sequence[str],
    forced: bool,
    report_path: Path | None = None,
) -> dict[str, Any]:
    """The record a pushed version carries: the decision, whether ``--force`` overrode it, the
    rules, the test set, both BLEU scores with sacrebleu's signature, the served version
    compared with and the paired test. ``report`` is None when no rule needed scores (nothing
    served, no minimum BLEU)."""
    record: dict[str, Any] = {
        "decision": REFUSED if reasons else BLESSED,
        "forced": forced,
        "reasons": list(reasons),
        "rules": dataclasses.asdict(gate),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if report is None:
        note = "nothing served to compare with and no minimum BLEU: nothing to score"
        return {**record, "note": note, "candidate": None, "baseline": None}
    bleu = report["metrics"]["bleu"]
    return {
        **record,
        "report": str(report_path.absolute()) if report_path is not None else None,
        "test_set": _test_set(report),
        "candidate": {"bleu": report["bleu"], "chrf": report["chrf"], "ter": report["ter"]},
        "signature": bleu["signature"],
        **_comparison(report, served),
    }


def verdict_line(record: dict[str, Any]) -> str:
    """Both scores, the difference with its interval, the p-value, and the reasons to refuse."""
    line = f"candidate BLEU {record['candidate']['bleu']:.2f}"
    baseline = record["baseline"]
    if baseline is not None:
        interval = record["delta_ci95"]
        ci = (
            ""
            if interval is None
            else f", 95% CI [{interval['low']:+.2f}, {interval['high']:+.2f}]"
        )
        line += (
            f", served version {baseline['version']} BLEU {baseline['bleu']:.2f} "
            f"(Δ {record['delta']:+.2f}{ci}, p = {record['p_value']:.4f})"
        )
    return f"{line}: {'; '.join(record['reasons'])}" if record["reasons"] else line


def refusal_line(record: dict[str, Any], export_dir: Path) -> str:
    """One line for a refused candidate: ``verdict_line``, and where the report is."""
    return (
        f"refused by the export gate: {verdict_line(record)}; nothing written under "
        f"{export_dir}; report: {record['report']} (--force exports it anyway)"
    )
