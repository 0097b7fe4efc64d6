"""report.md rendering, from synthetic data."""

from __future__ import annotations

from typing import Any

from seq2seq.evaluation.reports.markdown import cell, render_markdown


def metric(label: str, score: float, comparable: bool = True) -> dict[str, Any]:
    return {
        "label": label,
        "score": score,
        "ci95": {"mean": score, "halfwidth": 1.0},
        "signature": "nrefs:1|version:2.6.0",
        "text": f"{label}|nrefs:1|version:2.6.0 = {score:.2f}",
        "higher_is_better": label != "TER",
        "comparable_with_default": comparable,
    }


def sentence(line: int, hyp: str) -> dict[str, Any]:
    return {
        "line": line,
        "chrf": 50.0,
        "source": "a | b",
        "references": ["x", "y"],
        "hypothesis": hyp,
    }


def report() -> dict[str, Any]:
    return {
        "experiment": "demo",
        "system": {"kind": "saved_model", "path": "serving/models/demo/1", "decode": None},
        "source": "src.en",
        "references": ["ref1.es", "ref2.es"],
        "hypotheses": "out/hypotheses.txt",
        "sentences": 2,
        "metrics": {
            "bleu": metric("BLEU", 20.0),
            "ter": metric("TER", 60.0),
            "bleu_intl_lc": metric("BLEU (tok:intl; not comparable)", 21.0, comparable=False),
        },
        "bootstrap": {"resamples": 1000, "seed": 12345, "confidence": 0.95},
        "length": {
            "ratio": 0.95,
            "hyp_length": 19,
            "ref_length": 20,
            "brevity_penalty": 0.95,
            "tokenize": "13a",
        },
        "length_buckets": [
            {"label": "0-10", "sentences": 2, "bleu": 20.0, "length_ratio": 0.95},
            {"label": "11+", "sentences": 0, "bleu": None, "length_ratio": None},
        ],
        "significance": {
            "baseline": "base.txt",
            "test": "bs",
            "samples": 1000,
            "seed": 12345,
            "interval_resamples": 1000,
            "metrics": {
                "bleu": {
                    "label": "BLEU",
                    "baseline": 18.0,
                    "system": 20.0,
                    "delta": 2.0,
                    "delta_ci95": {"mean": 2.1, "low": 0.5, "high": 3.25},
                    "p_value": 0.01,
                    "higher_is_better": True,
                },
                "ter": {
                    "label": "TER",
                    "baseline": 58.0,
                    "system": 60.0,
                    "delta": 2.0,
                    "delta_ci95": None,
                    "p_value": 0.3,
                    "higher_is_better": False,
                },
            },
        },
        "best": [sentence(1, "good")],
        "worst": [sentence(2, "")],
        "samples": [sentence(1, "good"), sentence(2, "")],
        "figures": {
            "training_curves": "training_curves.png",
            "attention": [{"line": 1, "file": "attention_1.png"}],
            "notes": ["a note"],
        },
    }


def test_markdown_has_every_section_and_escapes_cells() -> None:
    text = render_markdown(report())
    for part in (
        "# Evaluation report: demo",
        "- Decoding: the exported model's defaults",
        "| BLEU | 20.00 | μ = 20.00 ± 1.00 | higher is better |",
        "not comparable with the default BLEU above",
        "BLEU|nrefs:1|version:2.6.0 = 20.00",
        "ratio: **0.950**",
        "| 11+ | 0 | – | – |",
        "Baseline hypotheses: `base.txt`",
        "| BLEU | 18.00 | 20.00 | +2.00 | [+0.50, +3.25] | 0.0100 | system better |",
        "| TER | 58.00 | 60.00 | +2.00 | – | 0.3000 | no significant difference |",
        "| 2 | 50.0 | a \\| b | x<br>y | *(empty)* |",
        "![Training curves](training_curves.png)",
        "![Attention weights, line 1](attention_1.png)",
        "*a note*",
    ):
        assert part in text, part
    assert cell("a<b|c") == "a&lt;b\\|c"


def test_a_baseline_system_is_named_with_its_translations() -> None:
    data = report()
    data["significance"]["baseline"] = "out/baseline_hypotheses.txt"
    data["significance"]["baseline_system"] = {
        "kind": "saved_model",
        "path": "serving/models/demo/2",
        "decode": None,
    }
    text = render_markdown(data)
    assert (
        "Baseline: saved model `serving/models/demo/2`, its translations in "
        "`out/baseline_hypotheses.txt`" in text
    )
    assert "central 95% of the differences of 1000 paired bootstrap resamples" in text
    data["significance"]["metrics"]["bleu"].update(delta=0.0, p_value=0.001)
    assert "| +0.00 | [+0.50, +3.25] | 0.0010 | no significant difference |" in render_markdown(
        data
    )
