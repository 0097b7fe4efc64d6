"""Translation throughput of an export against the Python-loop decoder, in one run.

    python benchmarks/translation_throughput.py --model serving/models/NAME \\
        --input ../shared/data/multi30k/test_2016_flickr.en [--json out.json]

For greedy and each beam size, at each batch size, sentences/s and target
pieces/s of (1) the exported SavedModel (in-graph search, the same signature
the server calls) and (2) ``translation_baseline.LoopDecoder`` (one model call
per output step) on the same weights. Each measurement runs in its own process,
so its peak RSS is its own; model loading and one warm-up batch per batch size
are excluded from the timings. Batches are sorted by length, as the serving
script does. The baseline weights come from the run directory named in the
export's ``assets.extra/config.yaml`` (or ``--config``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from serving.batching import translate_chunk
from serving.translate import load_translate_fn, resolve_version


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="serving/models/NAME")
    parser.add_argument("--input", type=Path, required=True, help="one source sentence per line")
    parser.add_argument("--config", type=Path, help="run config (default: the export's)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5], help="1 = greedy")
    parser.add_argument("--limit", type=int, help="first N sentences only")
    parser.add_argument("--loop-limit", type=int, help="first N sentences for the baseline")
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument(
        "--loops",
        nargs="+",
        default=["loop", "eager"],
        choices=["loop", "eager"],
        help="baselines: loop (tf.function step) and/or eager (eager step)",
    )
    parser.add_argument("--worker", choices=["graph", "loop", "eager"], help=argparse.SUPPRESS)
    parser.add_argument("--beam", type=int, default=1, help=argparse.SUPPRESS)
    return parser


def decode_settings(export: Path) -> dict[str, Any]:
    """The export's decoding defaults (length limit and alpha) from its config."""
    config = yaml.safe_load((export / "assets.extra" / "config.yaml").read_text(encoding="utf-8"))
    decode = config.get("decode", {})
    return {
        "alpha": float(decode.get("length_penalty", 0.6)),
        "max_length_a": float(decode.get("max_length_a", 1.5)),
        "max_length_b": int(decode.get("max_length_b", 10)),
    }


def piece_counter(export: Path) -> Any:
    """Target SentencePiece pieces in a list of translations."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    spm = (export / "assets.extra" / "target.model").read_bytes()
    tokenizer = tf_text.SentencepieceTokenizer(model=spm, out_type=tf.int32)
    return lambda texts: int(tf.reduce_sum(tokenizer.tokenize(tf.constant(texts)).row_lengths()))


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Time one decoder at every batch size; runs in its own process."""
    export = resolve_version(args.model, None) if not args.model.name.isdigit() else args.model
    settings = decode_settings(export)
    limit = args.loop_limit if args.worker != "graph" and args.loop_limit else args.limit
    lines = args.input.read_text(encoding="utf-8").splitlines()[:limit]
    if args.worker == "graph":
        options = {"beam_size": args.beam, **settings}
        translate = load_translate_fn(export, options)
    else:
        from translation_baseline import LoopDecoder

        config = args.config or export / "assets.extra" / "config.yaml"
        decoder = LoopDecoder(
            config, settings["max_length_a"], settings["max_length_b"], args.worker == "loop"
        )
        translate = lambda batch: decoder.translate(batch, args.beam, settings["alpha"])  # noqa: E731
    count = piece_counter(export)
    results: dict[str, Any] = {"sentences": len(lines), "batches": {}}
    for batch_size in args.batch_sizes:
        translate_chunk(translate, lines[:batch_size], batch_size)  # warm-up / tracing
        start = time.perf_counter()
        outputs = translate_chunk(translate, lines, batch_size)
        seconds = time.perf_counter() - start
        pieces = count(outputs)
        results["batches"][str(batch_size)] = {
            "seconds": seconds,
            "sentences_per_s": len(lines) / seconds,
            "target_pieces_per_s": pieces / seconds,
            "target_pieces": pieces,
            "outputs": outputs,
        }
    results["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return results


def run_worker(args: argparse.Namespace, kind: str, beam: int) -> dict[str, Any]:
    """Run one measurement in a fresh process and return its JSON."""
    argv = [sys.executable, __file__, "--worker", kind, "--beam", str(beam)]
    argv += ["--model", str(args.model), "--input", str(args.input), "--batch-sizes"]
    argv += [str(b) for b in args.batch_sizes]
    for flag, value in (("--limit", args.limit), ("--loop-limit", args.loop_limit)):
        if value:
            argv += [flag, str(value)]
    if args.config:
        argv += ["--config", str(args.config)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} beam {beam} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def report(results: dict[str, dict[str, Any]], batch_sizes: list[int]) -> list[str]:
    """A Markdown table: the in-graph search, each baseline, speed-ups, output agreement."""
    loops = [kind for kind in LABELS if f"{kind}:1" in results or f"{kind}:5" in results]
    head = "| search | batch | in-graph sent/s | in-graph pieces/s |"
    for loop in loops:
        head += f" {LABELS[loop]} sent/s | speed-up | same output |"
    head += " peak RSS in-graph |"
    rows = [head, "|---" * (head.count("|") - 1) + "|"]
    for name, graph in results.items():
        if not name.startswith("graph"):
            continue
        beam = name.split(":")[1]
        for b in map(str, batch_sizes):
            g = graph["batches"][b]
            label = "greedy" if beam == "1" else f"beam {beam}"
            row = f"| {label} | {b} | {g['sentences_per_s']:.1f} | {g['target_pieces_per_s']:.0f} |"
            for loop in loops:
                lp = results[f"{loop}:{beam}"]["batches"][b]
                n = min(len(g["outputs"]), len(lp["outputs"]))
                same = sum(x == y for x, y in zip(g["outputs"][:n], lp["outputs"][:n], strict=True))
                speed_up = g["sentences_per_s"] / lp["sentences_per_s"]
                row += f" {lp['sentences_per_s']:.1f} | {speed_up:.1f}x | {same}/{n} |"
            rows.append(row + f" {graph['peak_rss_gib']:.2f} GiB |")
    return rows


LABELS = {"loop": "loop (tf.function step)", "eager": "loop (eager step)"}


def main() -> int:
    """Measure every decoder and beam size, print the table, optionally save JSON."""
    args = _parser().parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    results: dict[str, dict[str, Any]] = {}
    for beam in args.beams:
        for kind in ("graph", *args.loops):
            results[f"{kind}:{beam}"] = run_worker(args, kind, beam)
            print(f"done: {kind} beam {beam}", file=sys.stderr, flush=True)
    print("\n".join(report(results, args.batch_sizes)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
