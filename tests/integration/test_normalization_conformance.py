"""Conformance: on real corpora, both implementations of the normalisation give the same bytes.

Beam workers clean with the Python implementation, the export normalises with the
graph's; a line normalised differently would reach the served model in a form it
never saw in training. Every line of Multi30k (train, val, test; en, de, fr), both
columns of both Tatoeba files and the WMT22 en-ja / en-zh test sets go through both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tensorflow as tf

from core.normalization import Normalization, normalize
from core.normalization_graph import GraphNormalizer
from tests.conftest import SHARED_DATA

# The slow tier (make test-all, CI): integration tests run servers, Dask clusters, real
# corpora or whole evaluations.
pytestmark = pytest.mark.slow

CORPORA = [
    *(
        f"multi30k/{split}.{lang}"
        for split in ("train", "val", "test_2016_flickr")
        for lang in ("en", "de", "fr")
    ),
    "tatoeba/spa-eng.tsv",
    "tatoeba/fra-eng.tsv",
    *(
        f"wmt22_cjk/generaltest2022.en-{lang}.{side}"
        for lang in ("ja", "zh")
        for side in ("en", lang)
    ),
]
BATCH = 8192


def corpus_texts(path: Path) -> list[str]:
    """Every text of ``path`` as the readers hand it to cleaning (TSV: both columns)."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    lines = [line.removesuffix("\r") for line in (lines[:-1] if not lines[-1] else lines)]
    if path.suffix == ".tsv":
        return [column for line in lines for column in line.split("\t")[:2]]
    return lines


def batches(texts: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(texts), BATCH):
        yield texts[start : start + BATCH]


@pytest.mark.parametrize("spec", [Normalization(), Normalization(unicode_form="NFKC")], ids=str)
@pytest.mark.parametrize("name", CORPORA)
def test_every_corpus_line_normalises_to_the_same_bytes(name: str, spec: Normalization) -> None:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent (real corpora live in ../shared/data beside the checkout)")
    graph = GraphNormalizer(spec)
    texts = corpus_texts(path)
    differing = []
    for batch in batches(texts):
        graph_out = [t.decode("utf-8") for t in graph(tf.constant(batch)).numpy()]
        differing += [
            (t, g) for t, g in zip(batch, graph_out, strict=True) if normalize(t, spec) != g
        ]
    assert not differing, f"{len(differing)} of {len(texts)} lines differ, e.g. {differing[:3]}"
