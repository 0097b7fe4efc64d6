"""What the one normalisation costs, against the normalisations it replaced, in one run.

    python benchmarks/normalization.py [--json out.json]

Graph side (what every request to an export pays before SentencePiece): the export's
normaliser (``core.normalization_graph``) against the previous in-graph normalisation
(Unicode form, five entities, ASCII whitespace), both inside a ``tf.function``, on
Multi30k test_2016_flickr English lines at batch 1 and 64, timed interleaved, and
on the same lines with an entity and a no-break space added to each. Python side
(what a Beam worker pays per sentence while cleaning): ``core.normalization.normalize``
against the previous cleaning code (``html.unescape``, ``unicodedata``), on Multi30k
train English.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tensorflow as tf
import tensorflow_text as tf_text

from core.normalization import Normalization, normalize
from core.normalization_graph import GraphNormalizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "multi30k"
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&apos;", "'"))
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def previous_graph(texts: tf.Tensor) -> tf.Tensor:
    """The exported graph's normalisation before the one normaliser (NFC, unescape on)."""
    texts = tf_text.normalize_utf8(texts, "NFC")
    for entity, char in _ENTITIES:
        texts = tf.strings.regex_replace(texts, entity, char)
    texts = tf.strings.regex_replace(texts, "&amp;", "&")
    return tf.strings.strip(tf.strings.regex_replace(texts, r"\s+", " "))


def previous_cleaning(text: str) -> str:
    """The cleaning step's normalisation before the one normaliser (defaults)."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    return " ".join(_LINE_BREAKS.sub(" ", text).split())


def time_graph(functions: dict[str, Callable[..., Any]], batches: list[list[str]]) -> dict:
    """Seconds per batch of each function, interleaved batch by batch."""
    totals = dict.fromkeys(functions, 0.0)
    for function in functions.values():  # warm-up: tracing and kernel creation
        function(tf.constant(batches[0]))
    for index, batch in enumerate(batches):
        tensor = tf.constant(batch)
        names = list(functions)
        for name in names[index % len(names) :] + names[: index % len(names)]:
            start = time.perf_counter()
            functions[name](tensor).numpy()
            totals[name] += time.perf_counter() - start
    return {name: total / len(batches) * 1000 for name, total in totals.items()}


def graph_section(lines: list[str]) -> dict[str, Any]:
    spec = tf.TensorSpec([None], tf.string)
    normalizer = GraphNormalizer(Normalization())
    functions = {
        "one_normaliser": tf.function(normalizer.__call__, input_signature=[spec]),
        "previous": tf.function(previous_graph, input_signature=[spec]),
    }
    marked = [line.replace(" ", "&nbsp;", 1).replace(" ", "\u00a0", 1) + " &amp;" for line in lines]
    results = {}
    for label, texts in (("plain", lines), ("entities", marked)):
        for size in (1, 64):
            batches = [texts[i : i + size] for i in range(0, len(texts), size)]
            ms = time_graph(functions, batches)
            results[f"{label}_batch{size}_ms"] = ms
            results[f"{label}_batch{size}_ratio"] = ms["one_normaliser"] / ms["previous"]
    return results


def python_section(lines: list[str]) -> dict[str, Any]:
    spec = Normalization()
    rates = {}
    for _ in range(2):  # two rounds, interleaved; the better of each counts
        for name, function in (
            ("one_normaliser", lambda t: normalize(t, spec)),
            ("previous", previous_cleaning),
        ):
            start = time.perf_counter()
            for line in lines:
                function(line)
            rates[name] = max(rates.get(name, 0.0), len(lines) / (time.perf_counter() - start))
    return {"lines_per_second": rates, "ratio": rates["one_normaliser"] / rates["previous"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    test = (DATA / "test_2016_flickr.en").read_text(encoding="utf-8").splitlines()
    train = (DATA / "train.en").read_text(encoding="utf-8").splitlines()
    results = {"graph": graph_section(test), "python": python_section(train)}
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
