"""Translation throughput of an export against Python-loop decoders, in one run.

    python benchmarks/translation_throughput.py --model serving/models/NAME \\
        --input ../shared/data/multi30k/test_2016_flickr.en [--json out.json]

For greedy and each beam size, at each batch size: sentences/s and target
pieces/s of the exported SavedModel (in-graph search, the signature the server
calls) and of ``translation_baseline.LoopDecoder`` (one model call per output
step; ``tf.function`` step and eager step) on the same weights.

The machine is shared, so the decoders are timed *interleaved*: batch by batch
(sorted by length, as the serving script batches), each decoder translates the
same batch in turn, in rotating order, so background load hits all of them
alike and the ratios stay meaningful. The slow eager baseline translates every
``--eager-every``-th batch only, and its ratio uses the in-graph time on those
same batches. Model loading and one warm-up batch are excluded. Peak RSS of the
in-graph search comes from a separate process that loads only the export.

The compute ceiling: greedy search's forward FLOPs per sentence (2 per weight used,
``compute.weights_per_piece``: encoder per source piece, decoder and output layer per
target piece and end-of-sentence step) times sentences/s, against this machine's
matmul GFLOP/s measured in the same run, and what 20 times the loop would need.
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

import sentencepiece as spm
import yaml

from core.contract import resolve_version
from core.length_sorted_batches import translate_chunk
from core.saved_model import load_translate_fn
from nmt.config import load_config

DECODERS = ("graph", "loop", "eager")
LABELS = {"loop": "loop, tf.function step", "eager": "loop, eager step"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="serving/models/NAME")
    parser.add_argument("--input", type=Path, required=True, help="one source sentence per line")
    parser.add_argument("--config", type=Path, help="run config (default: the export's)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5], help="1 = greedy")
    parser.add_argument("--limit", type=int, help="first N sentences only")
    parser.add_argument("--eager-every", type=int, default=4, help="eager: every Nth batch")
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--worker", choices=["rss", "pair"], help=argparse.SUPPRESS)
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


def _setup(args: argparse.Namespace) -> tuple[Path, dict[str, Any], list[str]]:
    export = args.model if args.model.name.isdigit() else resolve_version(args.model, None)
    lines = args.input.read_text(encoding="utf-8").splitlines()[: args.limit]
    return export, decode_settings(export), [line for line in lines if line.strip()]


def rss_worker(args: argparse.Namespace) -> dict[str, Any]:
    """Peak RSS of the export alone, translating everything at every batch size."""
    export, settings, lines = _setup(args)
    translate = load_translate_fn(export, {"beam_size": args.beam, **settings})
    for batch_size in args.batch_sizes:
        translate_chunk(translate, lines, batch_size)
    return {"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def pair_worker(args: argparse.Namespace) -> dict[str, Any]:
    """The export and both loop baselines, interleaved batch by batch."""
    from translation_baseline import LoopDecoder

    export, settings, lines = _setup(args)
    config = args.config or export / "assets.extra" / "config.yaml"
    decoder = LoopDecoder(config, settings["max_length_a"], settings["max_length_b"])
    beam, alpha = args.beam, settings["alpha"]
    fns = {
        "graph": load_translate_fn(export, {"beam_size": beam, **settings}),
        "loop": lambda batch: decoder.translate(batch, beam, alpha, compiled=True),
        "eager": lambda batch: decoder.translate(batch, beam, alpha, compiled=False),
    }
    count = piece_counter(export)
    results: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    for batch_size in args.batch_sizes:
        ordered = sorted(lines, key=len)
        batches = [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
        results[str(batch_size)] = interleaved(fns, batches, args.eager_every, count)
    results["load_after"] = os.getloadavg()[0]  # 1-minute load: others' work shares the CPU
    return results


def interleaved(
    fns: dict[str, Any], batches: list[list[str]], eager_every: int, count: Any
) -> dict[str, Any]:
    """Time every decoder on the same batches in rotating order (eager: every Nth batch)."""
    for fn in fns.values():
        fn(batches[0])  # warm-up / tracing
    names = [*fns, "graph@eager"]
    seconds = dict.fromkeys(names, 0.0)
    outputs: dict[str, list[str]] = {name: [] for name in names}
    for i, batch in enumerate(batches):
        with_eager = i % eager_every == 0
        turn = [name for name in fns if name != "eager" or with_eager]
        for name in turn[i % len(turn) :] + turn[: i % len(turn)]:
            start = time.perf_counter()
            out = fns[name](batch)
            elapsed = time.perf_counter() - start
            targets = [name, "graph@eager"] if name == "graph" and with_eager else [name]
            for target in targets:
                seconds[target] += elapsed
                outputs[target] += out
    return {
        name: {
            "sentences": len(outputs[name]),
            "seconds": seconds[name],
            "sentences_per_s": len(outputs[name]) / seconds[name],
            "target_pieces_per_s": count(outputs[name]) / seconds[name],
            "outputs": outputs[name],
        }
        for name in names
    }


def run_worker(args: argparse.Namespace, kind: str, beam: int) -> dict[str, Any]:
    """Run one worker in a fresh process and return its JSON."""
    argv = [sys.executable, __file__, "--worker", kind, "--beam", str(beam)]
    argv += ["--model", str(args.model), "--input", str(args.input)]
    argv += ["--eager-every", str(args.eager_every), "--batch-sizes"]
    argv += [str(b) for b in args.batch_sizes]
    argv += ["--limit", str(args.limit)] if args.limit else []
    argv += ["--config", str(args.config)] if args.config else []
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} beam {beam} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def machine_rates(width: int, vocab: int) -> dict[str, float]:
    """Matmul GFLOP/s: large square, and the output layer's ``[64, width] x [width, vocab]``
    at batch 64, bfloat16."""
    from compute import matmul_gflops

    return {
        "2048_float32": matmul_gflops(2048, 2048, 2048, "float32"),
        "2048_bfloat16": matmul_gflops(2048, 2048, 2048, "bfloat16"),
        f"64x{width}x{vocab}_bfloat16": matmul_gflops(64, width, vocab, "bfloat16"),
    }


def greedy_ceiling(weights: Any, source_pieces: int, greedy: dict[str, Any]) -> dict[str, Any]:
    """Forward FLOPs per sentence of greedy search (``weights``: ``compute.PieceWeights``;
    ``source_pieces`` with EOS), the GFLOP/s each batch size reached, and the GFLOP/s that
    20 times the ``tf.function`` loop would take."""
    ceiling: dict[str, Any] = {}
    for batch, run in greedy.items():
        if not batch.isdigit():
            continue
        graph, loop = run["graph"], run["loop"]
        steps = graph["target_pieces_per_s"] * graph["seconds"] + graph["sentences"]  # + EOS
        flops = 2.0 * (weights.source * source_pieces + weights.target * steps)
        per_sentence = flops / graph["sentences"]
        ceiling[batch] = {
            "mflop_per_sentence": per_sentence / 1e6,
            "graph_gflops": per_sentence * graph["sentences_per_s"] / 1e9,
            "gflops_for_20x_loop": 20 * per_sentence * loop["sentences_per_s"] / 1e9,
        }
    return ceiling


def compute_section(args: argparse.Namespace, greedy: dict[str, Any]) -> dict[str, Any]:
    """The machine's matmul rates and the greedy ceiling, from the export's config and models."""
    from compute import output_width, weights_per_piece

    export, _, lines = _setup(args)
    extra = export / "assets.extra"
    model = load_config(extra / "config.yaml").model
    source = spm.SentencePieceProcessor(model_file=str(extra / "source.model"))
    vocab = spm.SentencePieceProcessor(model_file=str(extra / "target.model")).get_piece_size()
    source_pieces = sum(len(ids) + 1 for ids in source.encode(lines))  # + EOS
    return {
        "machine_gflops": machine_rates(output_width(model), vocab),
        "greedy_ceiling": greedy_ceiling(weights_per_piece(model, vocab), source_pieces, greedy),
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> str:
    """How many outputs two decoders agree on, of how many."""
    same = sum(x == y for x, y in zip(a["outputs"], b["outputs"], strict=True))
    return f"{same}/{len(a['outputs'])}"


def report(results: dict[str, Any], batch_sizes: list[int]) -> list[str]:
    """A Markdown table: in-graph rates, each baseline with its speed-up and output agreement."""
    head = "| search | batch | in-graph sent/s | in-graph pieces/s |"
    for label in LABELS.values():
        head += f" {label}: sent/s | speed-up | same output |"
    head += " peak RSS in-graph |"
    rows = [head, "|---" * (head.count("|") - 1) + "|"]
    for beam, measured in results.items():
        label = "greedy" if beam == "1" else f"beam {beam}"
        for b in map(str, batch_sizes):
            run = measured["pair"][b]
            g = run["graph"]
            row = f"| {label} | {b} | {g['sentences_per_s']:.1f} | {g['target_pieces_per_s']:.0f} |"
            for name, ref in (("loop", g), ("eager", run["graph@eager"])):
                base = run[name]
                speed_up = ref["sentences_per_s"] / base["sentences_per_s"]
                row += f" {base['sentences_per_s']:.1f} | {speed_up:.1f}x | {_same(ref, base)} |"
            rows.append(row + f" {measured['rss']['peak_rss_gib']:.2f} GiB |")
    return rows


def main() -> int:
    """Measure every beam size, print the table, optionally save JSON."""
    args = _parser().parse_args()
    if args.worker:
        print(json.dumps(rss_worker(args) if args.worker == "rss" else pair_worker(args)))
        return 0
    results: dict[str, Any] = {}
    for beam in args.beams:
        rss, pair = run_worker(args, "rss", beam), run_worker(args, "pair", beam)
        results[str(beam)] = {"rss": rss, "pair": pair}
        loads = f"{pair['load_before']:.2f} before, {pair['load_after']:.2f} after"
        print(f"done: beam {beam} (1-minute load {loads})", file=sys.stderr, flush=True)
    print("\n".join(report(results, args.batch_sizes)))
    if "1" in results:
        compute = compute_section(args, results["1"]["pair"])
        results.update(compute)
        print(json.dumps(compute, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
