"""Coverage of lexical shortlists: Dice against IBM Model 1, over a grid of ``top_k``/``frequent``.

    python benchmarks/shortlist_coverage.py --data runs/multi30k_en_de/data \\
        [--source test.en --translations full_greedy.de] [--json out.json]

Both tables come from the data folder's encoded train split (``pipeline.lexical_estimates``).
The test split's sources are batched as the serving script batches them (sorted by length,
``--batch-sizes``); per batch the shortlist is the union of every source piece's ``top_k``
candidates, the ``frequent`` most frequent target pieces and the special ids. Coverage is the
share of target pieces inside their batch's shortlist: of the test references, and of
``--translations`` (the full-vocabulary search's output of ``--source``) when given.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import sentencepiece as spm

from pipeline.lexical_estimates import (
    SPECIAL_IDS,
    count_pairs,
    dice_scores,
    expected_counts,
    frequency_ranking,
    initial_probs,
    normalize_by_source,
    rank_candidates,
)

TOP_KS = (10, 20, 50, 100)
FREQUENT = (0, 100, 500, 1000)


def read_split(folder: Path, split: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(source ids, target ids)`` of every record of ``split`` (TFRecords, shard order)."""
    import tensorflow as tf

    pairs = []
    for path in sorted((folder / "tfrecords").glob(f"{split}-*.tfrecord")):
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            features = tf.train.Example.FromString(record).features.feature
            pairs.append(
                (
                    np.array(features["source_ids"].int64_list.value, np.int32),
                    np.array(features["target_ids"].int64_list.value, np.int32),
                )
            )
    return pairs


def encode(data: Path, side: str, path: Path) -> list[np.ndarray]:
    """The lines of ``path`` as piece ids of the data folder's ``side`` model (source: + EOS)."""
    processor = spm.SentencePieceProcessor(str(data / "sentencepiece" / f"{side}.model"))
    lines = path.read_text(encoding="utf-8").splitlines()
    end = [processor.eos_id()] if side == "source" else []
    return [np.array(ids + end, np.int32) for ids in processor.encode(lines)]


def tables(train: list[Any], top_k: int, iterations: int) -> dict[str, Any]:
    """Candidates per source id by Dice and by IBM Model 1, and the frequency ranking."""
    start = time.perf_counter()
    counts = count_pairs(train)
    dice = rank_candidates(counts.keys, dice_scores(counts), top_k)
    dice_s = time.perf_counter() - start
    probs = initial_probs(counts.keys)
    for _ in range(iterations):
        probs = normalize_by_source(counts.keys, expected_counts(train, counts.keys, probs))
    ibm1 = rank_candidates(counts.keys, probs, top_k)
    return {
        "dice": dice,
        "ibm1": ibm1,
        "frequent": frequency_ranking(counts.target_tokens),
        "pairs": int(counts.keys.size),
        "seconds": {"dice": dice_s, "ibm1": time.perf_counter() - start},
    }


def coverage(
    sources: list[np.ndarray],
    outputs: list[np.ndarray],
    table: list[list[int]],
    always: list[int],
    top_k: int,
    batch: int,
) -> dict[str, float]:
    """Mean union size per batch and the share of ``outputs`` pieces inside their batch's."""
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    inside = total = 0
    sizes = []
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        union = set(always) | set(SPECIAL_IDS)
        for i in rows:
            for piece in sources[i].tolist():
                union.update(table[piece][:top_k] if piece < len(table) else ())
        sizes.append(len(union))
        for i in rows:
            inside += sum(p in union for p in outputs[i].tolist())
            total += outputs[i].size
    return {"mean_union": float(np.mean(sizes)), "coverage": inside / max(total, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="runs/NAME/data")
    parser.add_argument("--translations", type=Path, help="full-vocabulary output of --source")
    parser.add_argument("--source", type=Path, help="the source file --translations translates")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    train, test = read_split(args.data, "train"), read_split(args.data, "test")
    built = tables(train, max(TOP_KS), args.iterations)
    sides = {"references": ([s for s, _ in test], [t for _, t in test])}
    if args.translations:
        sides["full_search"] = (
            encode(args.data, "source", args.source),
            encode(args.data, "target", args.translations),
        )
    rows = []
    for method in ("dice", "ibm1"):
        for top_k in TOP_KS:
            for frequent in FREQUENT:
                for batch in args.batch_sizes:
                    row = {"method": method, "top_k": top_k, "frequent": frequent, "batch": batch}
                    for name, (sources, outputs) in sides.items():
                        result = coverage(
                            sources, outputs, built[method], built["frequent"][:frequent],
                            top_k, batch,
                        )  # fmt: skip
                        row[f"{name}_coverage"] = result["coverage"]
                        row["mean_union"] = result["mean_union"]
                    rows.append(row)
                    print(json.dumps(row))
    summary = {"pairs": built["pairs"], "seconds": built["seconds"], "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
