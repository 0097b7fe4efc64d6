"""Translation speed and quality of exports side by side (a single model and ensembles of
it), in one run.

    python benchmarks/ensemble_throughput.py \\
        --model single=serving/models/A --model ensemble2=serving/models/A2 \\
        --input ../shared/data/multi30k/test_2016_flickr.en \\
        --ref ../shared/data/multi30k/test_2016_flickr.de [--json out.json]

For greedy and each beam size, at each batch size: sentences/s of every export's
``translate_with_options`` (its stored shortlist default), timed interleaved batch by batch
in rotating order (batches sorted by length, as the serving script batches) after one
warm-up batch each, so background load hits them alike; each one's speed as a ratio of the
first export's; and BLEU / chrF (sacrebleu 13a, cased) against ``--ref``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import sacrebleu

from core.contract import BEAM_SIZE, resolve_version
from core.saved_model import load_saved_model, translate_fn


def _named_path(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", type=_named_path, action="append", required=True, help="NAME=EXPORT_PATH"
    )
    parser.add_argument("--input", type=Path, required=True, help="one source sentence per line")
    parser.add_argument("--ref", type=Path, required=True, help="references, one per line")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64])
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5], help="1 = greedy")
    parser.add_argument("--limit", type=int, help="first N sentences only")
    parser.add_argument("--json", type=Path, help="write all results here")
    return parser


def timed(fns: dict[str, Any], batches: list[list[str]]) -> dict[str, Any]:
    """Seconds and outputs of every function over the batches, in rotating order."""
    for fn in fns.values():
        fn(batches[0])
    seconds = dict.fromkeys(fns, 0.0)
    outputs: dict[str, list[str]] = {name: [] for name in fns}
    names = list(fns)
    for i, batch in enumerate(batches):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            outputs[name] += fns[name](batch)
            seconds[name] += time.perf_counter() - start
    return {"seconds": seconds, "outputs": outputs}


def scores(outputs: list[str], order: list[int], refs: list[str]) -> dict[str, Any]:
    """BLEU (with signature) and chrF of outputs given in ``order`` against ``refs``."""
    hyps = [""] * len(refs)
    for index, text in zip(order, outputs, strict=True):
        hyps[index] = text
    bleu = sacrebleu.metrics.BLEU()
    return {
        "bleu": bleu.corpus_score(hyps, [refs]).score,
        "chrf": sacrebleu.corpus_chrf(hyps, [refs]).score,
        "signature": str(bleu.get_signature()),
    }


def main() -> None:
    args = _parser().parse_args()
    lines = args.input.read_text(encoding="utf-8").splitlines()[: args.limit]
    refs = args.ref.read_text(encoding="utf-8").splitlines()[: args.limit]
    exports = {
        name: path if path.name.isdigit() else resolve_version(path, None)
        for name, path in args.model
    }
    loaded = {name: load_saved_model(path) for name, path in exports.items()}
    order = sorted(range(len(lines)), key=lambda i: len(lines[i]))
    ordered = [lines[i] for i in order]
    report: dict[str, Any] = {
        "exports": {k: str(v) for k, v in exports.items()},
        "load_before": os.getloadavg()[0],
    }
    first = next(iter(exports))
    for beam in args.beams:
        fns = {name: translate_fn(model, {BEAM_SIZE: beam}) for name, model in loaded.items()}
        for size in args.batch_sizes:
            batches = [ordered[i : i + size] for i in range(0, len(ordered), size)]
            run = timed(fns, batches)
            result = {
                name: {
                    "sentences_per_s": len(lines) / run["seconds"][name],
                    "speed_vs_first": run["seconds"][first] / run["seconds"][name],
                    **scores(run["outputs"][name], order, refs),
                }
                for name in fns
            }
            report[f"beam{beam}_batch{size}"] = result
            print(json.dumps({"beam": beam, "batch": size, **result}), flush=True)
    report["load_after"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
