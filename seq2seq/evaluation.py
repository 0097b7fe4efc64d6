"""Translate the test split and score it with sacrebleu (BLEU, chrF, TER, with signatures)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import sacrebleu
import tensorflow as tf

from seq2seq.config import EvaluateConfig
from seq2seq.translator import Translator
from serving.batching import translate_stream

log = logging.getLogger("seq2seq")


def read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file without their line endings."""
    with path.open(encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def score(hypotheses: list[str], references: list[str], config: EvaluateConfig) -> dict[str, Any]:
    """Corpus BLEU, chrF and TER of ``hypotheses`` against one reference each."""
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} references; "
            "the counts must be equal"
        )
    metrics = {
        "bleu": sacrebleu.metrics.BLEU(tokenize=config.tokenize),
        "chrf": sacrebleu.metrics.CHRF(),
        "ter": sacrebleu.metrics.TER(),
    }
    report: dict[str, Any] = {"sentences": len(hypotheses)}
    for name, metric in metrics.items():
        result = metric.corpus_score(hypotheses, [references])
        report[name] = round(float(result.score), 4)
        report[f"{name}_signature"] = str(metric.get_signature())
        report[f"{name}_text"] = str(result)
    return report


def translate_file(translator: Translator, source: Path, batch_size: int) -> list[str]:
    """Translate every line of ``source`` with the in-graph translator."""

    def translate(batch: list[str]) -> list[str]:
        result = translator.translate(tf.constant(batch))
        return [t.decode("utf-8") for t in result["translations"].numpy()]

    lines = read_lines(source)
    return list(translate_stream(translate, lines, batch_size, progress=True, total=len(lines)))


def evaluate(
    translator: Translator,
    source: Path,
    reference: Path,
    out_dir: Path,
    config: EvaluateConfig,
    batch_size: int,
) -> dict[str, Any]:
    """Translate ``source``, score against ``reference``, write ``report.json`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    hypotheses = translate_file(translator, source, batch_size)
    hypothesis_path = out_dir / "test.hyp"
    hypothesis_path.write_text("".join(h + "\n" for h in hypotheses), encoding="utf-8")
    report = score(hypotheses, read_lines(reference), config)
    report.update(
        {
            "source": str(source),
            "references": [str(reference)],
            "hypotheses": str(hypothesis_path),
        }
    )
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log.info("%s", report["bleu_text"])
    log.info("%s", report["chrf_text"])
    log.info("%s", report["ter_text"])
    return report
