"""PNG figures for the evaluation report: training curves and attention heatmaps.

Figures are drawn on matplotlib ``Figure`` objects with the Agg canvas (no
pyplot, no display, no global state), so the same data gives the same bytes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

log = logging.getLogger("seq2seq")
_DPI = 100
_METADATA = {"Software": None}  # no version string: identical bytes across matplotlib builds


def read_train_log(path: Path) -> list[dict[str, Any]]:
    """Entries of ``train_log.jsonl``; unreadable lines are skipped with a warning."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            log.warning("%s:%d: not JSON; line skipped in the training curves", path, number)
            continue
        if isinstance(entry, dict) and isinstance(entry.get("step"), int | float):
            entries.append(entry)
    return entries


def _series(entries: Sequence[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    pairs = [(e["step"], e[key]) for e in entries if isinstance(e.get(key), int | float)]
    return [float(s) for s, _ in pairs], [float(v) for _, v in pairs]


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=_DPI, metadata=_METADATA)


def plot_training_curves(entries: Sequence[dict[str, Any]], path: Path) -> bool:
    """Train and dev loss over steps, and dev BLEU when logged; False if nothing to draw."""
    losses = {name: _series(entries, f"{name}_loss") for name in ("train", "dev")}
    bleu = _series(entries, "dev_bleu")
    if not any(steps for steps, _ in losses.values()) and not bleu[0]:
        return False
    panels = 2 if bleu[0] else 1
    figure = Figure(figsize=(6.4 * panels, 4.0), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    for name, (steps, values) in losses.items():
        if steps:
            axes[0].plot(steps, values, marker="o", label=f"{name} loss")
    steps = [s for series in (*losses.values(), bleu) for s in series[0]]
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if max(steps) - min(steps) < 2:  # one evaluation: room for integer step ticks
            ax.set_xlim(min(steps) - 1, max(steps) + 1)
    axes[0].set(title="Loss per target token", xlabel="step", ylabel="loss")
    axes[0].legend()
    axes[0].grid(alpha=0.3)
    if bleu[0]:
        axes[1].plot(*bleu, marker="o", color="tab:green", label="dev BLEU")
        axes[1].set(title="Dev BLEU", xlabel="step", ylabel="BLEU")
        axes[1].legend()
        axes[1].grid(alpha=0.3)
    _save(figure, path)
    return True


def plot_attention(
    weights: np.ndarray,
    source_pieces: Sequence[str],
    target_pieces: Sequence[str],
    title: str,
    path: Path,
) -> None:
    """Heatmap of ``weights [target, source]``: source pieces across, target pieces down."""
    rows, cols = weights.shape
    width = min(max(4.0, 0.32 * cols + 2.5), 24.0)
    height = min(max(3.0, 0.3 * rows + 1.8), 24.0)
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots()
    peak = float(weights.max()) if weights.size else 1.0
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=max(peak, 1e-6), aspect="auto")
    axes.set_xticks(range(cols), labels=list(source_pieces), rotation=90, fontsize=8)
    axes.set_yticks(range(rows), labels=list(target_pieces), fontsize=8)
    axes.set(xlabel="source pieces", ylabel="target pieces (hypothesis)")
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    _save(figure, path)
