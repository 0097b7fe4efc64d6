"""One evaluation run: translate a source file, score it with sacrebleu, write the report.

The report is ``report.json`` and ``report.md`` (with ``reports``' figures).

The system is either a run's checkpoint (through the in-graph ``Translator``,
with attention heatmaps) or an exported SavedModel (its ``serving_default``
signature). A baseline is either a file of its hypotheses or a second system,
which translates the same source; the report then has both systems' scores, their
difference with its interval and sacrebleu's paired test. Inputs are checked before
anything is translated; every number is computed with sacrebleu and seeded, so the
same inputs give the same files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.length_sorted_batches import TranslateFn, translate_stream
from seq2seq.config import EvaluateConfig
from seq2seq.evaluation.attention import AttentionMap
from seq2seq.evaluation.inputs import (
    check_parallel,
    read_lines,
    read_references,
)
from seq2seq.evaluation.reports.figures import plot_attention, plot_training_curves, read_train_log
from seq2seq.evaluation.reports.markdown import render_markdown
from seq2seq.evaluation.scores import (
    bucket_scores,
    corpus_scores,
    extremes,
    length_stats,
    paired_significance,
    sample_indices,
    sentence_chrf,
)

log = logging.getLogger("seq2seq")
SCHEMA_VERSION = 1
HYPOTHESES_FILE = "hypotheses.txt"
FULL_VOCABULARY_FILE = "hypotheses_full_vocabulary.txt"
BASELINE_FILE = "baseline_hypotheses.txt"  # a baseline system's translations
AttentionFn = Callable[[Sequence[int], Sequence[str], Sequence[str]], list[AttentionMap]]


@dataclass(frozen=True)
class EvaluationData:
    """Checked inputs: source lines, reference streams and optional baseline hypotheses
    (with the description of the system that wrote them, when the evaluation ran it)."""

    source: Path
    sources: list[str]
    reference_paths: tuple[Path, ...]
    references: list[list[str]]
    baseline_path: Path | None = None
    baseline: list[str] | None = None
    baseline_system: dict[str, Any] | None = None


@dataclass(frozen=True)
class System:
    """What translates: a batch function, a description for the report, optional extras."""

    translate: TranslateFn
    description: dict[str, Any]
    attention: AttentionFn | None = None
    train_log: Path | None = None
    notes: list[str] = field(default_factory=list)
    # The same search over the whole vocabulary, when ``translate`` searches a shortlist.
    full_vocabulary: TranslateFn | None = None


def read_inputs(
    source: Path, references: Sequence[Path], baseline: Path | None = None
) -> EvaluationData:
    """Read and check every input file; line counts must agree (``EvaluationError`` if not)."""
    refs = read_references(references)
    sources = read_lines(source)
    check_parallel(sources, source, "source", references, len(refs[0]))
    base = None
    if baseline is not None:
        base = read_lines(baseline)
        check_parallel(base, baseline, "baseline hypothesis", references, len(refs[0]))
    return EvaluationData(source, sources, tuple(references), refs, baseline, base)


def _path(path: Path) -> str:
    """Paths in the report are absolute, so that it can be read from anywhere."""
    return str(path.absolute())


def _entry(index: int, data: EvaluationData, hyps: list[str], chrf: list[float]) -> dict[str, Any]:
    return {
        "line": index + 1,
        "chrf": chrf[index],
        "source": data.sources[index],
        "references": [stream[index] for stream in data.references],
        "hypothesis": hyps[index],
    }


def _scores(
    data: EvaluationData, hyps: list[str], config: EvaluateConfig
) -> tuple[dict[str, Any], list[float]]:
    """Every score of the report (no figures), and the sentence-level chrF."""
    metrics = corpus_scores(hyps, data.references, config)
    chrf = sentence_chrf(hyps, data.references)
    best, worst = extremes(chrf, config.extremes)
    significance = None
    if data.baseline is not None and data.baseline_path is not None:
        test = paired_significance(hyps, data.baseline, data.references, config)
        significance = {
            "baseline": _path(data.baseline_path),
            "baseline_system": data.baseline_system,
            **test,
        }
    report = {
        **{key: metrics[key]["score"] for key in ("bleu", "chrf", "ter")},
        **{f"{key}_signature": metrics[key]["signature"] for key in ("bleu", "chrf", "ter")},
        **{f"{key}_text": metrics[key]["text"] for key in ("bleu", "chrf", "ter")},
        "metrics": metrics,
        "bootstrap": {"resamples": config.bootstrap, "seed": config.seed, "confidence": 0.95},
        "length": length_stats(hyps, data.references, config),
        "length_buckets": bucket_scores(data.sources, hyps, data.references, config),
        "significance": significance,
        "best": [_entry(i, data, hyps, chrf) for i in best],
        "worst": [_entry(i, data, hyps, chrf) for i in worst],
    }
    return report, chrf


def _heatmap_lines(
    samples: Sequence[int], data: EvaluationData, hyps: list[str], count: int
) -> list[int]:
    """The first ``count`` sampled lines with a non-empty source and hypothesis of <= 40 words."""
    usable = [
        i
        for i in samples
        if data.sources[i].strip() and hyps[i].strip() and len(data.sources[i].split()) <= 40
    ]
    return usable[:count]


def _figures(
    system: System,
    data: EvaluationData,
    hyps: list[str],
    samples: list[int],
    out_dir: Path,
    config: EvaluateConfig,
) -> dict[str, Any]:
    """Draw the PNGs; returns their file names (relative to ``out_dir``) and notes."""
    notes = list(system.notes)
    curves = None
    if system.train_log is not None and system.train_log.is_file():
        if plot_training_curves(read_train_log(system.train_log), out_dir / "training_curves.png"):
            curves = "training_curves.png"
    elif system.train_log is not None:
        notes.append(f"No training curves: {system.train_log} does not exist.")
    attention = []
    lines = _heatmap_lines(samples, data, hyps, config.heatmaps)
    if system.attention is not None and lines:
        for number, amap in enumerate(system.attention(lines, data.sources, hyps), 1):
            name = f"attention_{number}.png"
            title = f"line {amap.line}: {hyps[amap.line - 1]}"[:120]
            plot_attention(
                amap.weights, amap.source_pieces, amap.target_pieces, title, out_dir / name
            )
            attention.append({"line": amap.line, "file": name})
    return {"training_curves": curves, "attention": attention, "notes": notes}


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _translate(
    translate: TranslateFn, data: EvaluationData, path: Path, batch_size: int
) -> list[str]:
    """Translate the sources into ``path`` and read them back as sacrebleu reads the file."""
    stream = translate_stream(
        translate, data.sources, batch_size, progress=True, total=len(data.sources)
    )
    _write(path, "".join(h + "\n" for h in stream))
    hyps = read_lines(path)  # scored exactly as sacrebleu reads the file
    check_parallel(hyps, path, "hypothesis", data.reference_paths, len(data.sources))
    return hyps


def _full_vocabulary(
    system: System,
    data: EvaluationData,
    hyps: list[str],
    out_dir: Path,
    config: EvaluateConfig,
    batch_size: int,
) -> dict[str, Any] | None:
    """Scores of the same search over the whole vocabulary (shortlisted systems only)."""
    if system.full_vocabulary is None:
        return None
    path = out_dir / FULL_VOCABULARY_FILE
    full = _translate(system.full_vocabulary, data, path, batch_size)
    metrics = corpus_scores(full, data.references, dataclasses.replace(config, bootstrap=0))
    return {
        "hypotheses": _path(path),
        **{key: metrics[key]["score"] for key in ("bleu", "chrf", "ter")},
        "identical": sum(a == b for a, b in zip(hyps, full, strict=True)),
    }


def _with_baseline(
    baseline: System, data: EvaluationData, out_dir: Path, batch_size: int
) -> EvaluationData:
    """``data`` with the ``baseline`` system's translations (``BASELINE_FILE``) as its
    baseline hypotheses."""
    path = out_dir / BASELINE_FILE
    hyps = _translate(baseline.translate, data, path, batch_size)
    return dataclasses.replace(
        data, baseline_path=path, baseline=hyps, baseline_system=baseline.description
    )


def evaluate(
    system: System,
    data: EvaluationData,
    out_dir: Path,
    config: EvaluateConfig,
    batch_size: int,
    experiment: str,
    baseline: System | None = None,
) -> dict[str, Any]:
    """Translate ``data.sources`` (and with ``baseline`` translate them with that system too,
    as the baseline of the paired tests), score, draw, and write the report files into
    ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    hypothesis_path = out_dir / HYPOTHESES_FILE
    hyps = _translate(system.translate, data, hypothesis_path, batch_size)
    if baseline is not None:
        data = _with_baseline(baseline, data, out_dir, batch_size)
    scores, chrf = _scores(data, hyps, config)
    samples = sample_indices(len(hyps), config.samples, config.seed)
    report = {
        "schema_version": SCHEMA_VERSION,
        "experiment": experiment,
        "system": system.description,
        "source": _path(data.source),
        "references": [_path(p) for p in data.reference_paths],
        "hypotheses": _path(hypothesis_path),
        "sentences": len(hyps),
        **scores,
        "full_vocabulary": _full_vocabulary(system, data, hyps, out_dir, config, batch_size),
        "samples": [_entry(i, data, hyps, chrf) for i in samples],
        "figures": _figures(system, data, hyps, samples, out_dir, config),
    }
    _write(out_dir / "report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    _write(out_dir / "report.md", render_markdown(report))
    for entry in scores["metrics"].values():
        log.info("%s", entry["text"])
    log.info("report: %s", out_dir / "report.md")
    return report
