"""Domain shift: a general Tatoeba En->Fr parent, then Multi30k En->Fr children from scratch
and fine-tuned from it, at the same number of updates.

Every stage runs through the ``nmt`` command, as a user runs it:

1. the parent, ``configs/tatoeba_en_fr.yaml`` for ``--parent-updates`` updates, scored on its
   own (hashed) Tatoeba test split and on Multi30k test_2016_flickr;
2. for each ``--sizes`` N: the first N pairs of Multi30k train, a child from random weights
   (its own SentencePiece model, ``--scratch-vocab`` pieces, the parent's learning rate and
   warmup) and a child fine-tuned from the parent (``configs/multi30k_en_fr_finetune.yaml``),
   each for ``--child-updates`` updates, the best of each by val BLEU;
3. test_2016_flickr with beam 5 (cased sacreBLEU 13a, 95% bootstrap intervals), the fine-tuned
   child with the from-scratch child as the baseline of the paired test; the fine-tuned child
   again on Tatoeba's test split (what it forgot).

Each finished step leaves a mark in ``WORK/done``, so a rerun continues where it stopped.
Results go to ``--out`` as JSON.

    python benchmarks/domain_adaptation.py --work /tmp/domain_adaptation
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from compute import matmul_gflops

REPO = Path(__file__).resolve().parents[1]
MULTI30K = REPO.parent / "shared" / "data" / "multi30k"
TATOEBA = REPO.parent / "shared" / "data" / "tatoeba" / "fra-eng.tsv"
NMT = [str(Path(sys.executable).parent / "nmt")]
PARENT = "tatoeba_en_fr"


def run_step(work: Path, name: str, command: list[str]) -> None:
    """Run one ``nmt`` command unless its mark exists; its output goes to ``WORK/logs``."""
    mark = work / "done" / name
    if mark.exists():
        return
    (work / "logs").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(work / "logs" / f"{name}.log", "w", encoding="utf-8") as log:
        subprocess.run(command, check=True, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text(f"{time.perf_counter() - start:.1f}\n", encoding="utf-8")
    print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)


def write_config(work: Path, base: str, name: str, changes: dict[str, Any]) -> Path:
    """``configs/BASE`` with ``changes`` (dotted keys) written as ``WORK/configs/NAME.yaml``."""
    raw = yaml.safe_load((REPO / "configs" / base).read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        section = raw
        *parents, key = dotted.split(".")
        for part in parents:
            section = section[part]
        section[key] = value
    raw["experiment"] = name
    raw["run_root"] = str(work / "runs")
    raw["export"]["base_dir"] = str(work / "models")
    path = work / "configs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def aligned(source: Path, target: Path, name: str) -> dict[str, str]:
    """An ``aligned`` corpus entry of a config."""
    return {"name": name, "format": "aligned", "source": str(source), "target": str(target)}


def subset(work: Path, size: int) -> tuple[Path, Path]:
    """The first ``size`` pairs of Multi30k train, as two files under ``WORK/data``."""
    out = work / "data"
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / f"train{size}.en", out / f"train{size}.fr")
    for lang, path in zip(("en", "fr"), paths, strict=True):
        lines = (MULTI30K / f"train.{lang}").read_text(encoding="utf-8").splitlines()[:size]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def child_changes(work: Path, size: int, updates: int, scratch_vocab: int | None) -> dict[str, Any]:
    """Config changes of one child: its corpus, its budget, and for a from-scratch child its
    own SentencePiece size and the parent's (from-scratch) learning rate and warmup."""
    source, target = subset(work, size)
    split = {
        "dev_inputs": [aligned(MULTI30K / "val.en", MULTI30K / "val.fr", "multi30k_val")],
        "test_inputs": [
            aligned(
                MULTI30K / "test_2016_flickr.en",
                MULTI30K / "test_2016_flickr.fr",
                "multi30k_test2016",
            )
        ],
    }
    changes: dict[str, Any] = {
        "data.inputs": [aligned(source, target, f"multi30k_train{size}")],
        "data.split": split,
        "train.max_steps": updates,
        "train.epochs": 100000,
        "train.init_from": str(work / "runs" / PARENT),
        "decode.shortlist.enabled": False,
    }
    if scratch_vocab is not None:
        changes |= {
            "train.init_from": "",
            "train.learning_rate": 0.0015,
            "train.warmup_steps": 200,
            "data.sentencepiece.vocab_size": scratch_vocab,
        }
    return changes


def score(work: Path, report: str) -> dict[str, Any]:
    """BLEU (with its 95% interval), chrF, the signature, and the paired test if there is one."""
    data = json.loads((work / "reports" / report / "report.json").read_text(encoding="utf-8"))
    keys = ("bleu", "chrf", "bleu_signature", "significance")
    return {"bleu_text": data["bleu_text"], **{key: data[key] for key in keys}}


def train_and_score(work: Path, config: Path, name: str, *evaluate: str) -> None:
    """Preprocess, train and score one experiment on its test split (``evaluate``: more
    options of ``nmt evaluate``)."""
    run_step(work, f"{name}.preprocess", [*NMT, "preprocess", str(config)])
    run_step(work, f"{name}.train", [*NMT, "train", str(config)])
    out = work / "reports" / f"{name}_test"
    command = [*NMT, "evaluate", str(config), "--out", str(out), *evaluate]
    run_step(work, f"{name}.evaluate", command)


def cross_score(work: Path, config: Path, name: str, src: Path, ref: Path, label: str) -> None:
    """Score experiment ``name`` on another test set, ``src`` against ``ref``."""
    out = work / "reports" / f"{name}_{label}"
    command = [*NMT, "evaluate", str(config), "--src", str(src), "--ref", str(ref)]
    run_step(work, f"{name}.{label}", [*command, "--out", str(out)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, required=True, help="runs, reports and marks")
    parser.add_argument("--parent-updates", type=int, default=3000)
    parser.add_argument("--child-updates", type=int, default=1000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 29000])
    parser.add_argument(
        "--scratch-vocab",
        type=int,
        nargs="+",
        default=[2000, 4000, 8000],
        help="SentencePiece size of each from-scratch child (smaller for less data)",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks/results_domain_adaptation.json"
    )
    args = parser.parse_args()
    if not TATOEBA.exists() or not MULTI30K.exists():
        sys.exit(f"needs {TATOEBA} and {MULTI30K}")
    work = args.work.resolve()
    results: dict[str, Any] = {
        "machine": {
            "matmul_gflops_2048_float32": matmul_gflops(2048, 2048, 2048, "float32"),
            "matmul_gflops_2048_bfloat16": matmul_gflops(2048, 2048, 2048, "bfloat16"),
            "cpus": os.cpu_count(),
        },
        "parent_updates": args.parent_updates,
        "child_updates": args.child_updates,
    }
    parent = write_config(
        work,
        "tatoeba_en_fr.yaml",
        PARENT,
        {"train.max_steps": args.parent_updates, "decode.shortlist.enabled": False},
    )
    train_and_score(work, parent, PARENT)
    test_en, test_fr = MULTI30K / "test_2016_flickr.en", MULTI30K / "test_2016_flickr.fr"
    cross_score(work, parent, PARENT, test_en, test_fr, "multi30k")
    tatoeba_test = work / "runs" / PARENT / "data" / "text"
    results["parent"] = {
        "tatoeba_test": score(work, f"{PARENT}_test"),
        "multi30k_test": score(work, f"{PARENT}_multi30k"),
    }
    for size, vocab in zip(args.sizes, args.scratch_vocab, strict=True):
        scratch = f"scratch_{size}"
        config = write_config(
            work,
            "multi30k_en_fr_finetune.yaml",
            scratch,
            child_changes(work, size, args.child_updates, vocab),
        )
        train_and_score(work, config, scratch)
        tuned = f"finetuned_{size}"
        changes = child_changes(work, size, args.child_updates, None)
        config = write_config(work, "multi30k_en_fr_finetune.yaml", tuned, changes)
        baseline = work / "reports" / f"{scratch}_test" / "hypotheses.txt"
        train_and_score(work, config, tuned, "--baseline", str(baseline))
        src, ref = tatoeba_test / "test.en", tatoeba_test / "test.fr"
        cross_score(work, config, tuned, src, ref, "tatoeba")
        results[str(size)] = {
            "scratch": score(work, f"{scratch}_test"),
            "finetuned": score(work, f"{tuned}_test"),
            "finetuned_tatoeba_test": score(work, f"{tuned}_tatoeba"),
            "scratch_vocab": vocab,
        }
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
