"""``report.md``: the evaluation report for people, rendered from the ``report.json`` data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_TESTS = {"bs": "paired bootstrap resampling", "ar": "paired approximate randomization"}


def cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    if not text:
        return "*(empty)*"
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return escaped.replace("\n", " ")


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return [*lines, ""]


def _decoding(decode: dict[str, Any] | None) -> str:
    if decode is None:
        return "the exported model's defaults"
    if decode["strategy"] == "greedy":
        return "greedy"
    return f"beam search, beam {decode['beam_size']}, length penalty {decode['length_penalty']}"


def _header(report: dict[str, Any]) -> list[str]:
    system = report["system"]
    refs = ", ".join(f"`{r}`" for r in report["references"])
    return [
        f"# Evaluation report: {report['experiment']}",
        "",
        f"- System: {system['kind'].replace('_', ' ')} `{system['path']}`",
        f"- Decoding: {_decoding(system['decode'])}",
        f"- Source: `{report['source']}`",
        f"- References: {refs}",
        f"- Hypotheses: `{report['hypotheses']}`",
        f"- Sentences: {report['sentences']}",
        "",
    ]


def _scores(report: dict[str, Any]) -> list[str]:
    boot = report["bootstrap"]
    rows: list[list[str]] = []
    extra: list[list[str]] = []
    texts: list[str] = []
    for entry in report["metrics"].values():
        ci = entry["ci95"]
        interval = "–" if ci is None else f"μ = {ci['mean']:.2f} ± {ci['halfwidth']:.2f}"
        direction = "higher is better" if entry["higher_is_better"] else "lower is better"
        row = [entry["label"], f"{entry['score']:.2f}", interval, direction]
        (rows if entry["comparable_with_default"] else extra).append(row)
        texts.append(entry["text"])
    header = ["Metric", "Score", "95% CI (bootstrap)", "Direction"]
    lines = ["## Scores", "", *_table(header, rows, "lrll")]
    if boot["resamples"]:
        lines += [
            f"Intervals: sacrebleu bootstrap resampling, {boot['resamples']} resamples, "
            f"seed {boot['seed']}; μ is the mean of the resampled scores, ± half the width "
            "of their central 95%.",
            "",
        ]
    if extra:
        lines += [
            "### Tokenized BLEU — not comparable with the default BLEU above",
            "",
            *_table(header, extra, "lrll"),
        ]
    lines += ["Signatures, as the `sacrebleu` command line prints them:", "", "```text"]
    return [*lines, *texts, "```", ""]


def _length(report: dict[str, Any]) -> list[str]:
    length = report["length"]
    lines = [
        "## Length",
        "",
        f"Hypothesis/reference length ratio: **{length['ratio']:.3f}** "
        f"({length['hyp_length']} / {length['ref_length']} tokens, tok:{length['tokenize']}; "
        f"brevity penalty {length['brevity_penalty']:.3f}).",
        "",
        "### BLEU by source length",
        "",
    ]
    rows = [
        [b["label"], str(b["sentences"]), _num(b["bleu"]), _num(b["length_ratio"], 3)]
        for b in report["length_buckets"]
    ]
    return lines + _table(["Source words", "Sentences", "BLEU", "Length ratio"], rows, "lrrr")


def _verdict(entry: dict[str, Any]) -> str:
    # Equal scores are no difference, whatever the p-value (sacrebleu's paired bootstrap gives
    # identical systems p = 1 / (samples + 1)).
    if entry["p_value"] >= 0.05 or entry["delta"] == 0:
        return "no significant difference"
    better = (entry["delta"] > 0) == entry["higher_is_better"]
    return "system better" if better else "system worse"


def _interval(entry: dict[str, Any]) -> str:
    ci = entry.get("delta_ci95")
    return "–" if ci is None else f"[{ci['low']:+.2f}, {ci['high']:+.2f}]"


def _baseline(test: dict[str, Any]) -> str:
    """What the baseline is: a system this evaluation ran, or a file of hypotheses."""
    system = test.get("baseline_system")
    if system is None:
        return f"Baseline hypotheses: `{test['baseline']}`"
    return (
        f"Baseline: {system['kind'].replace('_', ' ')} `{system['path']}`, "
        f"its translations in `{test['baseline']}`"
    )


def _significance(report: dict[str, Any]) -> list[str]:
    test = report["significance"]
    if test is None:
        return []
    resamples = test.get("interval_resamples", 0)
    lines = [
        "## Paired significance against the baseline",
        "",
        f"{_baseline(test)}; {_TESTS[test['test']]}, "
        f"{test['samples']} samples, seed {test['seed']}. Δ = system − baseline; "
        "verdicts at p < 0.05.",
        "",
    ]
    if resamples:
        lines += [
            f"Δ's 95% interval: the central 95% of the differences of {resamples} paired "
            "bootstrap resamples (sacrebleu's resampling, the same lines for both systems).",
            "",
        ]
    rows = [
        [
            e["label"],
            f"{e['baseline']:.2f}",
            f"{e['system']:.2f}",
            f"{e['delta']:+.2f}",
            _interval(e),
            f"{e['p_value']:.4f}",
            _verdict(e),
        ]
        for e in test["metrics"].values()
    ]
    header = ["Metric", "Baseline", "System", "Δ", "Δ 95% CI", "p-value", "Verdict"]
    return lines + _table(header, rows, "lrrrlrl")


def _full_vocabulary(report: dict[str, Any]) -> list[str]:
    full = report.get("full_vocabulary")
    if full is None:
        return []
    lines = [
        "## Shortlist against the whole vocabulary",
        "",
        f"The same search over every target piece (`{full['hypotheses']}`): "
        f"{full['identical']} of {report['sentences']} translations identical.",
        "",
    ]
    rows = [
        [key.upper() if key != "chrf" else "chrF", f"{report[key]:.2f}", f"{full[key]:.2f}"]
        for key in ("bleu", "chrf", "ter")
    ]
    return lines + _table(["Metric", "Shortlist", "Whole vocabulary"], rows, "lrr")


def _sentences(title: str, note: str, entries: Sequence[dict[str, Any]]) -> list[str]:
    if not entries:
        return []
    rows = [
        [
            str(e["line"]),
            f"{e['chrf']:.1f}",
            cell(e["source"]),
            "<br>".join(cell(r) for r in e["references"]),
            cell(e["hypothesis"]),
        ]
        for e in entries
    ]
    header = ["Line", "chrF", "Source", "Reference(s)", "Hypothesis"]
    return [f"## {title}", "", note, "", *_table(header, rows, "lrlll")]


def _figures(report: dict[str, Any]) -> list[str]:
    figures = report["figures"]
    lines = ["## Figures", ""]
    if figures["training_curves"]:
        lines += [
            "### Training curves",
            "",
            f"![Training curves]({figures['training_curves']})",
            "",
        ]
    if figures["attention"]:
        lines += [
            "### Attention heatmaps",
            "",
            "Teacher-forced attention over each hypothesis: row *t* is where the model looked "
            "while predicting target piece *t* (colours scaled to each sentence's largest weight).",
            "",
        ]
    for entry in figures["attention"]:
        lines += [f"![Attention weights, line {entry['line']}]({entry['file']})", ""]
    return lines + [f"*{note}*\n" for note in figures["notes"]]


def render_markdown(report: dict[str, Any]) -> str:
    """The whole ``report.md`` for a report dictionary (the ``report.json`` content)."""
    lines = [
        *_header(report),
        *_scores(report),
        *_length(report),
        *_significance(report),
        *_full_vocabulary(report),
        *_sentences("Best sentences by chrF", "Highest sentence-level chrF first.", report["best"]),
        *_sentences(
            "Worst sentences by chrF", "Lowest sentence-level chrF first.", report["worst"]
        ),
        *_sentences(
            "Sample translations",
            f"{len(report['samples'])} lines drawn with seed {report['bootstrap']['seed']}, "
            "in file order.",
            report["samples"],
        ),
        *_figures(report),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
