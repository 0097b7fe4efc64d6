"""The graph implementation gives the Python implementation's bytes."""

from __future__ import annotations

import itertools
import random

import pytest
import tensorflow as tf

from core.normalization import UNICODE_FORMS, Normalization, normalize
from core.normalization_graph import GraphNormalizer

SETTINGS = [
    Normalization(form, unescape, whitespace)
    for form, unescape, whitespace in itertools.product(UNICODE_FORMS, (True, False), (True, False))
]

# Entities (named, with and without ';', numeric, malformed), Unicode spaces, zero-width
# characters, combining marks, compatibility characters, line breaks and control characters.
HARD_CASES = [
    "",
    " ",
    "a &amp; b &amp;amp; &AMP; &Amp;",
    "&eacute;t&eacute; &#x27;q&#39; &#X41 &#0065; &#0; &#128; &#x81; &#x9F;",
    "&#xD800; &#xdfff; &#1114111; &#1114112; &#99999999999999999999; &#x0000000041;",
    "&#x10FFFF; &#xFFFE; &#x1FFFF; &#xFDD0; &#1; &#13; &#x7f; &#x0c; &#x85;",
    "AT&T &copy2020 this&nothing &ampx; &amp &lt &lt; &notin; &notit; &Aacute &AElig;x",
    "&frac12; &frac12 &frac1 &zz; & ; && &&amp; &#; &#x; &#xg; &#-1;",
    "&" + "a" * 40 + ";" + " &" + "b" * 32 + "; &" + "c" * 33,
    "&\u00e9acute; &ÿ; &é &amp\u00e9 &lt\u0301",
    "the black cat&nbsp;eats\u00a0the fish",
    "a\u2028b\u2029c\x85d\r\ne\rf\tg\x0bh\x0ci\x1cj\x1dk\x1el\x1fm",
    "\u1680 \u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a x",
    "\u202f\u205f\u3000 y \u180e \u200b",
    "  leading and trailing  ",
    "\u200b\ufeffzero\u200dwidth\u200c\u2060",
    "e\u0301 Cafe\u0301 \u212b \u1e9b\u0323 n\u0303",
    "ﬁ ﬂ ｶﾞ ＡＢＣ１２３ ① ㎏ ™ ½",
    "\x01\x07\x1b\x7f\x80\x9f control",
    "\U0001f600 \U0001f44d\U0001f3fd 中文 日本語 한국어 ภาษาไทย",
    "&lt;b&gt;bold&lt;/b&gt; &quot;q&quot; &apos;a&apos; &nbsp;&nbsp;",
    "&#x2028;line&#8233;break&#133;&#10;&#x0D;",
    "&#xa0;nb&#160;sp&#x3000;&NonBreakingSpace;&ThinSpace;",
    "&#x65;&#x301; &#x212B; &#xFB01;",
    "nul\x00in&amp;\x00the middle&no\x00t;",
]


def graph_outputs(spec: Normalization, texts: list[str]) -> list[str]:
    normalized = GraphNormalizer(spec)(tf.constant(texts, tf.string))
    return [t.decode("utf-8") for t in normalized.numpy()]


@pytest.mark.parametrize("spec", SETTINGS, ids=str)
def test_hard_cases_give_the_same_bytes(spec: Normalization) -> None:
    assert graph_outputs(spec, HARD_CASES) == [normalize(text, spec) for text in HARD_CASES]


def random_texts(count: int, seed: int) -> list[str]:
    """Strings built from the characters the steps react to, entity fragments first."""
    fragments = [
        *("&", "#", "x", "X", ";", "0", "1", "9", "a", "f", "F", "g", "amp", "lt", "not"),
        *("frac12", "eacute", "AElig", " ", "  ", "\t", "\n", "\r", "\u00a0", "\u2028"),
        *("\u3000", "\u200b", "e", "\u0301", "ﬁ", "ｶ", "ﾞ", "é", "中", "\x85", "\x1f", "\x00"),
    ]
    rng = random.Random(seed)
    return ["".join(rng.choices(fragments, k=rng.randint(0, 24))) for _ in range(count)]


@pytest.mark.parametrize("spec", SETTINGS, ids=str)
def test_random_texts_give_the_same_bytes(spec: Normalization) -> None:
    texts = random_texts(3000, seed=11)
    assert graph_outputs(spec, texts) == [normalize(text, spec) for text in texts]


def test_every_numeric_reference_in_a_sample_decodes_alike() -> None:
    numbers = [*range(0, 0x3000, 7), *range(0xD7F0, 0xE010), *range(0xFDC0, 0x10000)]
    numbers += [0x1FFFE, 0x1FFFF, 0x10FFFE, 0x10FFFF, 0x110000, 10**7, 16**7, 16**8]
    texts = [f"&#{n};" for n in numbers] + [f"&#x{n:X}" for n in numbers]
    spec = Normalization(unicode_form="none", normalize_whitespace=False)
    assert graph_outputs(spec, texts) == [normalize(text, spec) for text in texts]


def test_an_empty_batch_and_a_batch_without_references() -> None:
    assert graph_outputs(Normalization(), []) == []
    assert graph_outputs(Normalization(), ["no references", "at all"]) == [
        "no references",
        "at all",
    ]


def test_the_normalizer_runs_inside_a_tf_function() -> None:
    normalizer = GraphNormalizer(Normalization())

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def run(texts: tf.Tensor) -> tf.Tensor:
        return normalizer(texts)

    assert [t.decode() for t in run(tf.constant(["a&amp;b\u00a0 c", ""])).numpy()] == ["a&b c", ""]


@pytest.mark.parametrize("form", ["NFC", "NFKC"])
def test_every_code_point_normalises_alike(form: str) -> None:
    """Each code point, alone and before a combining mark: both sides use Unicode 16.0."""
    import unicodedata2

    from core.normalization import UNICODE_VERSION

    assert unicodedata2.unidata_version == UNICODE_VERSION
    spec = Normalization(form, unescape_html=False, normalize_whitespace=False)
    normalizer = GraphNormalizer(spec)
    texts = [chr(c) + "\u0301" for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    differing = []
    for start in range(0, len(texts), 1 << 16):
        batch = texts[start : start + (1 << 16)]
        graph = [t.decode("utf-8") for t in normalizer(tf.constant(batch)).numpy()]
        differing += [
            hex(ord(t[0])) for t, g in zip(batch, graph, strict=True) if normalize(t, spec) != g
        ]
    assert not differing, f"{len(differing)} code points differ: {differing[:10]}"
