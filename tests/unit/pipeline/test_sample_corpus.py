"""Tests for the built-in English→Spanish sample corpus generator."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline import sample_lexicon as lx
from pipeline.sample_corpus import (
    DEFAULT_NUM_PAIRS,
    Clause,
    NounPhrase,
    check_clause,
    generate_pairs,
    max_pairs,
    render_clause,
    write_corpus,
)

PUNCTUATION = {".", "?", "¿"}
AUX_TENSE = {"do": "present", "does": "present", "did": "past", "will": "future"}
PRONOUNS = {p.en: p for p in lx.PRONOUNS}
DETS = {d.en: d for d in lx.DETERMINERS} | {"an": next(d for d in lx.DETERMINERS if d.en == "a")}
ADJS = {a.en: a for a in lx.ADJECTIVES}
NOUN_FORMS = {n.en: (n, False) for n in lx.NOUNS} | {
    n.en_pl: (n, True) for n in lx.NOUNS if n.en_pl
}


def parse_np(words: list[str]) -> tuple[NounPhrase, list[str]]:
    """Parse "det [adj] noun" from the front of ``words``; return it and the rest."""
    adj = ADJS.get(words[1])
    noun, plural = NOUN_FORMS[words[2] if adj else words[1]]
    return NounPhrase(DETS[words[0]], noun, plural, adj), words[3 if adj else 2 :]


def parse(english: str) -> Clause:
    """Parse a sentence of the grammar (a test helper: the inverse of ``render_clause``)."""
    *words, punct = english.split()
    form, tense = ("question", AUX_TENSE[words.pop(0)]) if punct == "?" else ("statement", "")
    if words[0] in PRONOUNS:
        subject: lx.Pronoun | NounPhrase = PRONOUNS[words[0]]
        words = words[1:]
    else:
        subject, words = parse_np(words)
    if form == "statement" and words[0] in AUX_TENSE and words[1] == "not":
        form, tense, words = "negative", AUX_TENSE[words[0]], words[2:]
    elif form == "statement" and words[0] == "will":
        tense, words = "future", words[1:]
    verb, index = next(
        (v, i)
        for v in lx.VERBS
        for i, f in enumerate(v.en)
        if words[: len(f.split())] == f.split() and (i == 0 or not tense)
    )
    words = words[len(verb.en[index].split()) :]
    tense = tense or ("past" if index == 2 else "present")
    obj = prep = pp = None
    if verb.objects:
        obj, words = parse_np(words)
    if len(words) > 1 and words[0] in {p.en for p in verb.preps} and words[1] in DETS:
        pp, rest = parse_np(words[1:])
        preps = [p for p in verb.preps if p.en == words[0]]
        prep, words = next((p for p in preps if p.tags & pp.noun.tags), preps[0]), rest
    adverb = next(a for a in lx.ADVERBS if a.en == " ".join(words)) if words else None
    return Clause(subject, verb, tense, form, obj, prep, pp, adverb)


def translate(english: str) -> str:
    """Translate an in-grammar English sentence, checking it really is in the grammar."""
    c = parse(english)
    check_clause(c)
    rendered_english, spanish = render_clause(c)
    assert rendered_english == english
    return spanish


@pytest.fixture(scope="module")
def default_corpus() -> tuple[list[tuple[str, str]], float]:
    start = time.perf_counter()
    pairs = generate_pairs(DEFAULT_NUM_PAIRS, 0)
    return pairs, time.perf_counter() - start


# --- determinism, size and format ------------------------------------------------------------


def test_same_seed_gives_identical_pairs() -> None:
    assert generate_pairs(2000, 7) == generate_pairs(2000, 7)
    assert generate_pairs(2000, 7) != generate_pairs(2000, 8)
    assert generate_pairs(500, 7) == generate_pairs(2000, 7)[:500]


def test_write_corpus_is_byte_identical_and_aligned(tmp_path: Path) -> None:
    out = tmp_path / "a" / "nested"
    first = write_corpus(out, 1500, 3)
    second = write_corpus(tmp_path / "b", 1500, 3)
    assert first == (out / "sample.en", out / "sample.es")
    for one, two in zip(first, second, strict=True):
        data = one.read_bytes()
        assert data == two.read_bytes()
        assert data.endswith(b"\n") and b"\r" not in data
        assert len(data.decode("utf-8").splitlines()) == 1500
    en_lines = first[0].read_text(encoding="utf-8").splitlines()
    es_lines = first[1].read_text(encoding="utf-8").splitlines()
    assert list(zip(en_lines, es_lines, strict=True)) == generate_pairs(1500, 3)
    assert sorted(p.name for p in out.iterdir()) == ["sample.en", "sample.es"]  # no temp files


def test_write_corpus_custom_languages_and_overwrite(tmp_path: Path) -> None:
    write_corpus(tmp_path, 50, 1, source_lang="eng", target_lang="spa")
    src, tgt = write_corpus(tmp_path, 20, 2, source_lang="eng", target_lang="spa")
    assert (src.name, tgt.name) == ("sample.eng", "sample.spa")
    assert len(src.read_text(encoding="utf-8").splitlines()) == 20
    with pytest.raises(ValueError):
        write_corpus(tmp_path, 10, 0, source_lang="en", target_lang="en")
    with pytest.raises(ValueError):
        write_corpus(tmp_path, 10, 0, source_lang="../en")


def test_default_size_is_fast_distinct_and_rich(
    default_corpus: tuple[list[tuple[str, str]], float],
) -> None:
    pairs, seconds = default_corpus
    assert DEFAULT_NUM_PAIRS == 24000
    assert len(pairs) == DEFAULT_NUM_PAIRS >= 20000
    assert len({english for english, _ in pairs}) == len(pairs)
    english_types = {w for english, _ in pairs for w in english.split() if w not in PUNCTUATION}
    assert len(english_types) >= 150
    assert seconds < 6.0  # about 0.3 s on a laptop; generous for shared CI machines


def test_output_tokenization(default_corpus: tuple[list[tuple[str, str]], float]) -> None:
    for english, spanish in default_corpus[0]:
        for sentence in (english, spanish):
            assert sentence == sentence.lower() == sentence.strip()
            assert "  " not in sentence and "" not in sentence.split(" ")
            assert "-" not in sentence.split()
        question = english.endswith(" ?")
        assert question or english.endswith(" .")
        assert spanish.startswith("¿ ") == question == spanish.endswith(" ?")
        assert question or spanish.endswith(" .")
        assert 3 <= len([w for w in english.split() if w not in PUNCTUATION]) <= 14


def test_sampled_sentences_parse_back(default_corpus: tuple[list[tuple[str, str]], float]) -> None:
    for english, spanish in default_corpus[0]:
        assert translate(english) == spanish


def test_all_constructions_are_sampled(default_corpus: tuple[list[tuple[str, str]], float]) -> None:
    english = " ".join(e for e, _ in default_corpus[0])
    spanish = " ".join(s for _, s in default_corpus[0])
    for marker in (" did not ", " does not ", " will not ", " do not ", " ?"):
        assert marker in english
    for marker in (" no ", "¿ ", " al ", " del ", " a los ", " las ", " felices "):
        assert marker in spanish


def test_translation_is_a_function_across_seeds() -> None:
    seen: dict[str, str] = {}
    for seed in range(4):
        for english, spanish in generate_pairs(5000, seed):
            assert seen.setdefault(english, spanish) == spanish


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -5])
def test_too_small_size_raises(bad: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        generate_pairs(bad, 0)


def test_too_large_size_raises(tmp_path: Path) -> None:
    assert max_pairs() > 10 * DEFAULT_NUM_PAIRS
    with pytest.raises(ValueError, match="exceeds"):
        generate_pairs(max_pairs() + 1, 0)
    with pytest.raises(ValueError):
        write_corpus(tmp_path / "out", 0, 0)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("english", "problem"),
    [
        ("she opens the cat .", "object noun 'cat'"),
        ("the box walks to the park .", "subject noun 'box'"),
        ("she walked tomorrow .", "adverb 'tomorrow'"),
        ("she walked .", "prepositional phrases/adverbs"),
        ("he lives every day .", "needs a prepositional phrase"),
        ("she eats a fish .", "determiner 'a'"),
        ("she eats the happy fish .", "adjective 'happy'"),
        ("she swims in the park .", "prepositional object noun 'park'"),
    ],
)
def test_check_clause_rejects_out_of_grammar_sentences(english: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_clause(parse(english))


def test_check_clause_rejects_plural_mass_noun() -> None:
    c = parse("she ate the fish .")
    assert c.obj is not None
    with pytest.raises(ValueError, match="mass noun"):
        check_clause(replace(c, obj=replace(c.obj, plural=True)))


# --- translations ----------------------------------------------------------------------------

DEMO = [
    ("the black cats eat the fish .", "los gatos negros comen el pescado ."),
    ("my sister will not open the red windows .", "mi hermana no abrirá las ventanas rojas ."),
    ("did the old teacher walk to the park ?", "¿ el profesor viejo caminó al parque ?"),
]
AGREEMENT = [
    ("the girl broke the red windows .", "la niña rompió las ventanas rojas ."),
    ("the old women see an old dog .", "las mujeres viejas ven a un perro viejo ."),
    (
        "these happy girls sing with their young aunts .",
        "estas niñas felices cantan con sus tías jóvenes .",
    ),
    ("i carry two red maps .", "llevo dos mapas rojos ."),
    ("we drank this cold milk .", "bebimos esta leche fría ."),
    (
        "our small cow sleeps in that big house .",
        "nuestra vaca pequeña duerme en esa casa grande .",
    ),
    ("those tall men carry some blue cups .", "esos hombres altos llevan unas tazas azules ."),
]
CONJUGATION = [
    ("i walked to the park .", "caminé al parque ."),
    ("you will eat the bread .", "comerás el pan ."),
    ("he lives in the city .", "él vive en la ciudad ."),
    ("we live near the sea .", "vivimos cerca del mar ."),
    ("they wrote a letter .", "ellos escribieron una carta ."),
    ("the boy carries the box .", "el niño lleva la caja ."),
    ("my brothers carried the boxes .", "mis hermanos llevaron las cajas ."),
    ("she goes to the market .", "ella va al mercado ."),
    ("they went to the river yesterday .", "ellos fueron al río ayer ."),
    ("the dogs slept last night .", "los perros durmieron anoche ."),
    ("i looked for my keys .", "busqué mis llaves ."),
    ("they close the doors every day .", "ellos cierran las puertas todos los días ."),
    ("you play with the cat .", "juegas con el gato ."),
    ("we will travel to the city tomorrow .", "viajaremos a la ciudad mañana ."),
]
NEGATION_AND_QUESTIONS = [
    ("the dog does not eat the meat .", "el perro no come la carne ."),
    ("i do not drink the coffee .", "no bebo el café ."),
    ("we did not sleep yesterday .", "no dormimos ayer ."),
    ("they will not run from the school .", "ellos no correrán de la escuela ."),
    ("does the cat eat the fish ?", "¿ el gato come el pescado ?"),
    ("did you drink the milk ?", "¿ bebiste la leche ?"),
    ("do the girls open the box ?", "¿ las niñas abren la caja ?"),
    ("will she visit the city ?", "¿ ella visitará la ciudad ?"),
]
CONTRACTIONS_AND_PERSONAL_A = [
    ("the boys return from the market .", "los niños regresan del mercado ."),
    ("the bird arrived at the garden .", "el pájaro llegó al jardín ."),
    ("my uncle walks to the parks .", "mi tío camina a los parques ."),
    ("she watches the dog .", "ella mira al perro ."),
    ("i called my mother .", "llamé a mi madre ."),
    ("they will help the girls .", "ellos ayudarán a las niñas ."),
    ("he sees the car .", "él ve el coche ."),
    ("we wait for the doctor .", "esperamos al médico ."),
]


@pytest.mark.parametrize(
    ("english", "spanish"),
    DEMO + AGREEMENT + CONJUGATION + NEGATION_AND_QUESTIONS + CONTRACTIONS_AND_PERSONAL_A,
)
def test_translation(english: str, spanish: str) -> None:
    assert translate(english) == spanish


@pytest.mark.parametrize(
    ("infinitive", "tense", "forms"),
    [
        ("caminar", "present", "camino caminas camina caminamos caminan"),
        ("comer", "past", "comí comiste comió comimos comieron"),
        ("vivir", "future", "viviré vivirás vivirá viviremos vivirán"),
        ("abrir", "present", "abro abres abre abrimos abren"),
        ("dormir", "present", "duermo duermes duerme dormimos duermen"),
        ("ir", "past", "fui fuiste fue fuimos fueron"),
        ("ver", "present", "veo ves ve vemos ven"),
        ("jugar", "past", "jugué jugaste jugó jugamos jugaron"),
        ("llegar", "past", "llegué llegaste llegó llegamos llegaron"),
        ("encontrar", "present", "encuentro encuentras encuentra encontramos encuentran"),
    ],
)
def test_conjugation_tables(infinitive: str, tense: str, forms: str) -> None:
    verb = next(v for v in lx.VERBS if v.es == infinitive)
    assert [verb.spanish(tense, person) for person in range(5)] == forms.split()


def test_lexicon_is_unambiguous() -> None:
    english_verb_forms = [form for verb in lx.VERBS for form in verb.en]
    assert len(english_verb_forms) == len(set(english_verb_forms))  # e.g. no read/read
    noun_forms = [f for noun in lx.NOUNS for f in (noun.en, noun.en_pl) if f]
    assert len(noun_forms) == len(set(noun_forms))  # e.g. no sheep/sheep
    for verb in lx.VERBS:
        assert verb.subjects and (verb.objects or verb.preps)
        assert len({p.en for p in verb.preps}) == len(verb.preps)
