"""The gate the export stage passes before it writes a version: the translator about to be
exported translates the test split beside the served version (the latest under
``serving/models/<experiment>/``), and ``export.gate`` judges the report.

Everything is read and scored before anything is written under ``serving/``: a refused
candidate leaves the export folder as it was, so a running server never sees it. The report
goes to ``runs/<experiment>/eval/gate/``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from core.contract import RunLayout, latest_version
from nmt.config import ExperimentConfig
from seq2seq.evaluation.run import evaluate, read_inputs
from seq2seq.evaluation.systems import saved_model_system, translator_system
from seq2seq.gate import GateRefused, blessing_record, refusal_line, refusals, verdict_line
from seq2seq.translator import Translator

log = logging.getLogger("seq2seq")
GATE_DIR = "gate"  # the gate's report folder, under the run's eval/


def gate_report(
    config: ExperimentConfig, translator: Translator, served: Path | None, out_dir: Path
) -> dict[str, Any]:
    """The candidate ``translator`` (its default search, as the export will answer) scored on
    the test split, with the ``served`` version as the baseline of the paired tests; the
    report is written into ``out_dir``."""
    layout = RunLayout(config.run_dir)
    lang_src, lang_tgt = config.data.source_lang, config.data.target_lang
    data = read_inputs(layout.split_text("test", lang_src), (layout.split_text("test", lang_tgt),))
    description = {
        "kind": "export_candidate",
        "path": str(layout.best.absolute()),
        "decode": dataclasses.asdict(config.decode),
    }
    baseline = saved_model_system(served) if served is not None else None
    return evaluate(
        translator_system(translator, description),
        data,
        out_dir,
        config.evaluate,
        config.decode.batch_size,
        config.experiment,
        baseline,
    )


def bless(config: ExperimentConfig, translator: Translator, force: bool) -> dict[str, Any]:
    """The blessing record of the candidate ``translator``; raises ``GateRefused`` (one line)
    if ``export.gate`` refuses it and ``force`` is off. With nothing served (or
    ``no_regression`` off) only the minimum BLEU is checked, and with that off too nothing is
    scored."""
    gate = config.export.gate
    served = latest_version(config.export_dir) if gate.no_regression else None
    if served is None and gate.min_bleu <= 0.0:
        return blessing_record(None, gate, None, [], force)
    out_dir = RunLayout(config.run_dir).eval_dir / GATE_DIR
    report = gate_report(config, translator, served, out_dir)
    reasons = refusals(report, gate)
    path = out_dir / "report.md"
    record = blessing_record(report, gate, served, reasons, force, path)
    if reasons and not force:
        raise GateRefused(refusal_line(record, config.export_dir))
    if reasons:
        log.warning("--force: exported although the gate refuses it: %s", verdict_line(record))
    else:
        log.info(
            "the export gate blesses the candidate: %s (report: %s)", verdict_line(record), path
        )
    return record
