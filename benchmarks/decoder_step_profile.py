"""Where translation time goes with the shortlist on, at batch 1 and 64.

    python benchmarks/decoder_step_profile.py configs/multi30k_en_de.yaml \\
        --input ../shared/data/multi30k/test_2016_flickr.en [--limit 256] [--json out.json]

The run's best checkpoint (through ``nmt.translator_setup.load_translator``, so the config's
``decode.precision`` and shortlist) is cut into the parts a request passes through,
each its own ``tf.function`` timed on the same length-sorted batches: text to ids
(normalisation, SentencePiece, padding), the shortlist's union, the encoder, the
whole search (greedy, beam 5) and detokenisation. Then one greedy decoder step is cut
further, in a ``tf.while_loop`` of ``--steps`` steps on a batch's real memory: the
loop alone, + embedding and cell, + attention and combination (the attentional
vector), + output layer over the shortlist, + ranking (``top_candidates``), and the
output layer over the whole vocabulary for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tensorflow as tf

from nmt.config import load_config
from nmt.translator_setup import load_translator
from seq2seq.decoding.beam import beam_search
from seq2seq.decoding.common import max_output_lengths
from seq2seq.decoding.greedy import greedy_search
from seq2seq.decoding.ranking import top_candidates
from seq2seq.layers.output_layer import restricted_output
from seq2seq.shortlist import ShortlistedModel


def _timed(fn: Callable[..., Any], args_list: list[tuple], repeat: int = 1) -> float:
    fn(*args_list[0])  # trace
    start = time.perf_counter()
    for _ in range(repeat):
        for args in args_list:
            out = fn(*args)
            tf.nest.map_structure(lambda x: x.numpy() if hasattr(x, "numpy") else x, out)
    return (time.perf_counter() - start) / repeat


def request_parts(translator: Any, batches: list[list[str]]) -> dict[str, float]:
    """Seconds per batch of each part of a request (shortlist on), averaged over batches."""
    model, table = translator.model, translator.shortlist
    texts = [(tf.constant(b),) for b in batches]
    text, id_spec = tf.TensorSpec([None], tf.string), tf.TensorSpec([None, None], tf.int32)
    to_ids = tf.function(
        lambda t: translator.source_ids(translator.normalize(t)), input_signature=[text]
    )
    ids = [(to_ids(*t),) for t in texts]
    union = tf.function(lambda i: table.pieces(i, 7), input_signature=[id_spec])
    encode = tf.function(lambda i: model.encode(i, training=False), input_signature=[id_spec])

    def search(i: tf.Tensor, beam: tf.Tensor | None = None) -> Any:
        pieces = table.pieces(i, 3 if beam is None else beam + 2)
        limits = max_output_lengths(i, 1.5, 10)
        shortlisted = ShortlistedModel(model, pieces)
        if beam is None:
            return greedy_search(shortlisted, i, limits, pieces).ids
        return beam_search(shortlisted, i, limits, beam, 0.6, pieces).ids

    greedy = tf.function(search, input_signature=[id_spec])
    beam5 = tf.function(search, input_signature=[id_spec, tf.TensorSpec([], tf.int32)])
    results = [(greedy(*i),) for i in ids]
    detok = tf.function(
        lambda r: translator.target_tokenizer.detokenize(r[:, 0]),
        input_signature=[tf.TensorSpec([None, None, None], tf.int32)],
    )
    n = len(batches)
    return {
        "text_to_ids": _timed(to_ids, texts) / n,
        "union": _timed(union, ids) / n,
        "encoder": _timed(encode, ids) / n,
        "greedy_search": _timed(greedy, ids) / n,
        "beam5_search": _timed(beam5, [(i[0], tf.constant(5)) for i in ids]) / n,
        "detokenize": _timed(detok, results) / n,
        "greedy_steps": sum(int(r[0].shape[2]) for r in results) / n,
    }


def step_parts(translator: Any, batch: list[str], steps: int) -> dict[str, float]:
    """Milliseconds per greedy step of each cumulative part, on ``batch``'s real memory."""
    model, decoder = translator.model, translator.model.decoder
    ids = translator.source_ids(translator.normalize(tf.constant(batch)))
    pieces = translator.shortlist.pieces(ids, 3)
    memory, state = model.encode(ids)
    tokens = tf.fill([len(batch)], 5)
    short = restricted_output(decoder.output_projection, pieces)

    def loop(part: Callable[[Any], Any]) -> Callable[[], Any]:
        @tf.function
        def run() -> Any:
            def body(t: tf.Tensor, state: Any, acc: tf.Tensor) -> Any:
                new_state, value = part(state)
                return t + 1, new_state, acc + tf.cast(tf.reduce_sum(value), tf.float32)

            return tf.while_loop(lambda t, *_: t < steps, body, (0, state, 0.0))[2]

        return run

    def cell(s: Any) -> Any:
        projected = decoder._prepared_maths(memory)[0].project(decoder.embedding(tokens))
        h, new = decoder._prepared_maths(memory)[0].step(projected, s[-1], list(s[:2]))
        return (*new, s[-1]), h

    def attentional(s: Any) -> Any:
        a, new, _ = decoder.step_attentional(tokens, s, memory)
        return new, a

    def shortlist(s: Any) -> Any:
        a, new, _ = decoder.step_attentional(tokens, s, memory)
        return new, short(a)

    def ranked(s: Any) -> Any:
        a, new, _ = decoder.step_attentional(tokens, s, memory)
        return new, top_candidates(short(a), tf.zeros([len(batch)], tf.bool), 1)[0]

    def full(s: Any) -> Any:
        logits, new, _ = decoder.step(tokens, s, memory)
        return new, top_candidates(logits, tf.zeros([len(batch)], tf.bool), 1)[0]

    parts = {
        "loop": lambda s: (s, s[0]),
        "cell": cell,
        "attentional": attentional,
        "output_shortlist": shortlist,
        "ranked_shortlist": ranked,
        "ranked_full_vocabulary": full,
    }
    result = {"union": int(tf.size(pieces))}
    for name, part in parts.items():
        result[name] = _timed(loop(part), [()], repeat=3) / steps * 1000
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    translator = load_translator(load_config(args.config))
    lines = sorted(args.input.read_text(encoding="utf-8").splitlines()[: args.limit], key=len)
    report: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    for size in (1, 64):
        batches = [lines[i : i + size] for i in range(0, len(lines), size)]
        report[f"batch{size}_request_ms"] = {
            k: v * 1000 if k != "greedy_steps" else v
            for k, v in request_parts(translator, batches[: max(1, 64 // size) * 2]).items()
        }
        middle = batches[len(batches) // 2]
        report[f"batch{size}_step_ms"] = step_parts(translator, middle, args.steps)
        print(json.dumps({k: v for k, v in report.items() if str(size) in k}), flush=True)
    report["load_after"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
