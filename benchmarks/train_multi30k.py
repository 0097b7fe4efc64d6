"""Multi30k En->De under a fixed wall-clock training budget on this machine.

Trains ``configs/multi30k_en_de.yaml`` for ``--minutes`` (validation included), then scores
val (``--score-on val``, the default: recipes are chosen on it) or test_2016_flickr
(``--score-on test``, for final candidates only; raw files, sacrebleu 13a, cased, detokenized)
with greedy search and beam 5,
and reports target tokens/s, the training process's peak RSS (training runs in a child process
of its own), parameters and the compute ceiling: estimated training FLOPs per target token
times tokens/s, against this machine's matmul GFLOP/s (float32 and bfloat16) measured in the
same run.

    python benchmarks/train_multi30k.py --minutes 30

The config's own budget in updates (``train.max_steps``) ends the run first if it comes first;
``--set train.max_steps=0`` leaves only the minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import sentencepiece as spm
from compute import matmul_gflops, weights_per_piece

from core.contract import RunLayout
from nmt import stages
from nmt.config import ExperimentConfig, load_config
from seq2seq.run_models import restore_best
from seq2seq.vocabulary import vocab_size

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "multi30k"


def piece_ratio(layout: RunLayout, config: ExperimentConfig) -> float:
    """Source pieces per target piece on the cleaned train split."""
    counts = []
    for lang, model in (
        (config.data.source_lang, layout.source_spm),
        (config.data.target_lang, layout.target_spm),
    ):
        processor = spm.SentencePieceProcessor(model_file=str(model))
        lines = layout.split_text("train", lang).read_text(encoding="utf-8").splitlines()
        counts.append(sum(len(ids) for ids in processor.encode(lines)))
    return counts[0] / counts[1]


def flops_per_target_token(
    config: ExperimentConfig, source_per_target: float, target_vocab: int
) -> float:
    """Training FLOPs per target token: 6 per weight used per token (forward 2, backward 4),
    encoder weights once per source token, decoder and output weights once per target token."""
    weights = weights_per_piece(config.model, target_vocab)
    return 6.0 * (weights.target + weights.source * source_per_target)


def train_log_rate(layout: RunLayout) -> float:
    """Mean target tokens/s over the run's validations (each entry's rate since the epoch began)."""
    entries = [json.loads(line) for line in layout.train_log.read_text().splitlines()]
    rates = [e["tokens_per_second"] for e in entries if e.get("tokens_per_second")]
    return sum(rates) / max(len(rates), 1)


# Scored sets: the raw files' stem in ``DATA``.
SCORED_SETS = {"val": "val", "test": "test_2016_flickr"}


def evaluate(config: ExperimentConfig, strategy: str, beam: int, scored_set: str) -> dict[str, Any]:
    decode = dataclasses.replace(config.decode, strategy=strategy, beam_size=beam)
    scored = dataclasses.replace(config, decode=decode)
    stem = SCORED_SETS[scored_set]
    out = RunLayout(config.run_dir).eval_dir / f"{scored_set}_{strategy}{beam}"
    report = stages.evaluate_stage(
        scored,
        source=DATA / f"{stem}.en",
        references=[DATA / f"{stem}.de"],
        out_dir=out,
    )
    return {"bleu": report["bleu"], "chrf": report["chrf"], "signature": report["bleu_signature"]}


def train_in_child(args: argparse.Namespace) -> dict[str, Any]:
    """Run the training stage in a child process; its result and its own peak RSS."""
    command = [sys.executable, __file__, "--train-only", "--config", args.config]
    command += ["--minutes", str(args.minutes)] + [f"--set={o}" for o in args.overrides]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def train_only(config: ExperimentConfig) -> None:
    """The child's side: train, then print the result and peak RSS as one JSON line."""
    start = time.perf_counter()
    trained = stages.train(config)
    result = {
        "train_wall_seconds": time.perf_counter() - start,
        "train": dataclasses.asdict(trained),
        "train_peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(REPO / "configs" / "multi30k_en_de.yaml"))
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results_multi30k.json"))
    parser.add_argument(
        "--score-on",
        choices=[*sorted(SCORED_SETS), "none"],
        default="val",
        help="none: train only (score exports with ensemble_throughput.py)",
    )
    parser.add_argument("--train-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    overrides = (*args.overrides, f"train.max_minutes={args.minutes}")
    config = load_config(args.config, overrides)
    if args.train_only:
        train_only(config)
        return
    results: dict[str, Any] = {
        "precision": config.train.precision,
        "load_1min": [os.getloadavg()[0]],
    }
    for dtype in ("float32", "bfloat16"):
        results[f"matmul_gflops_2048_{dtype}"] = matmul_gflops(2048, 2048, 2048, dtype)
        results[f"matmul_gflops_64x1024x512_{dtype}"] = matmul_gflops(64, 1024, 512, dtype)
    stats = stages.preprocess(config)
    results.update(train_in_child(args))
    results["load_1min"].append(os.getloadavg()[0])
    layout = RunLayout(config.run_dir)
    results["tokens_per_second"] = train_log_rate(layout)
    results["parameters"] = restore_best(config.model, layout).count_params()
    results["splits"] = stats["splits"]
    ratio = piece_ratio(layout, config)
    flops = flops_per_target_token(config, ratio, vocab_size(layout.target_spm))
    results["source_pieces_per_target_piece"] = ratio
    results["flops_per_target_token"] = flops
    results["achieved_gflops"] = flops * results["tokens_per_second"] / 1e9
    if args.score_on != "none":
        results["scored_on"] = SCORED_SETS[args.score_on]
        results["greedy"] = evaluate(config, "greedy", 1, args.score_on)
        results["beam5"] = evaluate(config, "beam", 5, args.score_on)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
