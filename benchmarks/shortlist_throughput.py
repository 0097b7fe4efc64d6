"""Lexical shortlist against the whole vocabulary, on one export, in one run.

    python benchmarks/shortlist_throughput.py --model serving/models/NAME \\
        --input ../shared/data/multi30k/test_2016_flickr.en \\
        --ref ../shared/data/multi30k/test_2016_flickr.de [--json out.json]

For greedy and each beam size, at each batch size: sentences/s of the export's
``translate_with_options`` with ``shortlist`` 1 and 0 (the same weights and graph),
timed interleaved batch by batch in rotating order (batches sorted by length, as
the serving script batches), after one warm-up batch each; the mean shortlist size
per batch; coverage (the share of the full search's output pieces inside their
batch's shortlist); identical outputs; BLEU / chrF of both against ``--ref``; and
the p50 / p99 time of one batch (at batch 1: one sentence's latency in process).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import sacrebleu
import sentencepiece as spm

from core.contract import BEAM_SIZE, SHORTLIST, resolve_version
from core.saved_model import load_saved_model, translate_fn

MODES = ("shortlist", "full")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="serving/models/NAME[/VERSION]")
    parser.add_argument("--input", type=Path, required=True, help="one source sentence per line")
    parser.add_argument("--ref", type=Path, help="references, one per line")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5], help="1 = greedy")
    parser.add_argument("--limit", type=int, help="first N sentences only")
    parser.add_argument("--json", type=Path, help="write all results here")
    return parser


class Union:
    """Each batch's shortlist as the export computes it, from the export's own table."""

    def __init__(self, loaded: Any, export: Path) -> None:
        self.candidates = loaded.shortlist.candidates.numpy()
        self.always = set(loaded.shortlist.always.numpy().tolist())
        self.source = spm.SentencePieceProcessor(str(export / "assets.extra" / "source.model"))
        self.target = spm.SentencePieceProcessor(str(export / "assets.extra" / "target.model"))

    def pieces(self, batch: list[str], beam: int) -> set[int]:
        union = self.always | set(range(beam + 2))
        for ids in self.source.encode(batch):
            rows = [i for i in ids if i < len(self.candidates)]
            union.update(self.candidates[rows].ravel().tolist())
        return union

    def covered(self, union: set[int], outputs: list[str]) -> tuple[int, int]:
        pieces = [p for ids in self.target.encode(outputs) for p in ids]
        return sum(p in union for p in pieces), len(pieces)


def run(fns: dict[str, Any], batches: list[list[str]], union: Union, beam: int) -> dict[str, Any]:
    """Time both modes on the same batches in rotating order; sizes and coverage per batch."""
    for fn in fns.values():
        fn(batches[0])
    seconds = dict.fromkeys(fns, 0.0)
    times: dict[str, list[float]] = {name: [] for name in fns}
    outputs: dict[str, list[str]] = {name: [] for name in fns}
    sizes, inside, total = [], 0, 0
    for i, batch in enumerate(batches):
        names = list(fns)
        for name in names[i % 2 :] + names[: i % 2]:
            start = time.perf_counter()
            outputs[name] += fns[name](batch)
            times[name].append(time.perf_counter() - start)
            seconds[name] += times[name][-1]
        shortlist = union.pieces(batch, beam)
        sizes.append(len(shortlist))
        hit, count = union.covered(shortlist, outputs["full"][-len(batch) :])
        inside, total = inside + hit, total + count
    result: dict[str, Any] = {
        name: {
            "seconds": seconds[name],
            "sentences_per_s": len(outputs[name]) / seconds[name],
            "batch_ms_p50": float(np.percentile(times[name], 50) * 1000),
            "batch_ms_p99": float(np.percentile(times[name], 99) * 1000),
        }
        for name in fns
    }
    result["speedup"] = seconds["full"] / seconds["shortlist"]
    result["mean_union"] = float(np.mean(sizes))
    result["coverage"] = inside / max(total, 1)
    result["identical"] = sum(a == b for a, b in zip(*outputs.values(), strict=True))
    result["outputs"] = outputs
    return result


def scores(outputs: list[str], order: list[int], refs: list[str]) -> dict[str, float]:
    """BLEU and chrF of outputs given in ``order`` against ``refs`` in file order."""
    hyps = [""] * len(refs)
    for index, text in zip(order, outputs, strict=True):
        hyps[index] = text
    return {
        "bleu": sacrebleu.corpus_bleu(hyps, [refs]).score,
        "chrf": sacrebleu.corpus_chrf(hyps, [refs]).score,
    }


def main() -> None:
    args = _parser().parse_args()
    export = args.model if args.model.name.isdigit() else resolve_version(args.model, None)
    lines = args.input.read_text(encoding="utf-8").splitlines()[: args.limit]
    refs = args.ref.read_text(encoding="utf-8").splitlines()[: args.limit] if args.ref else None
    loaded = load_saved_model(export)
    union = Union(loaded, export)
    order = sorted(range(len(lines)), key=lambda i: len(lines[i]))
    report: dict[str, Any] = {"export": str(export), "load_before": os.getloadavg()[0]}
    for beam in args.beams:
        fns = {
            mode: translate_fn(loaded, {BEAM_SIZE: beam, SHORTLIST: int(mode == "shortlist")})
            for mode in MODES
        }
        for batch_size in args.batch_sizes:
            ordered = [lines[i] for i in order]
            batches = [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
            result = run(fns, batches, union, beam)
            outputs = result.pop("outputs")
            if refs is not None:
                result |= {f"{m}_scores": scores(outputs[m], order, refs) for m in MODES}
            report[f"beam{beam}_batch{batch_size}"] = result
            print(json.dumps({"beam": beam, "batch": batch_size, **result}), flush=True)
    report["load_after"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
