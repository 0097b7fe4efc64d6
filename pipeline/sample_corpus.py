"""Deterministic English→Spanish sample corpus generated from a small built-in grammar.

The grammar (word lists in :mod:`pipeline.sample_lexicon`) produces short clauses with
subject-verb agreement, three tenses (present, preterite, future), negation, yes/no
questions, direct objects (with the Spanish personal "a" for people and animals),
prepositional phrases (with the contractions al/del) and time adverbials. Spanish
adjectives follow the noun and agree with it in gender and number.

Each English sentence has exactly one Spanish translation, so the mapping is learnable.
Output is tokenized: lowercase, single spaces, final punctuation as its own token and
Spanish questions opened with "¿".
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pipeline import sample_lexicon as lx
from pipeline.sample_lexicon import Adjective, Adverb, Determiner, Noun, Prep, Pronoun, Verb

DEFAULT_NUM_PAIRS = 24000
FORMS = ("statement", "negative", "question")
_PERSON_TAGS = frozenset({"person", "animate"})
_LANG_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class NounPhrase:
    """Determiner + optional adjective + noun (English order; Spanish puts the adjective last)."""

    det: Determiner
    noun: Noun
    plural: bool = False
    adj: Adjective | None = None


@dataclass(frozen=True)
class Clause:
    """One sentence of the grammar; ``prep`` and ``pp`` form an optional prepositional phrase."""

    subject: Pronoun | NounPhrase
    verb: Verb
    tense: str
    form: str = "statement"
    obj: NounPhrase | None = None
    prep: Prep | None = None
    pp: NounPhrase | None = None
    adverb: Adverb | None = None


# Selection tables, computed once from the immutable lexicon and themselves immutable.
_MASS_DETS = tuple(d for d in lx.DETERMINERS if d.number != "pl" and not d.countable_only)
_ADJECTIVES = MappingProxyType(
    {n: tuple(a for a in lx.ADJECTIVES if a.tags & n.tags) for n in lx.NOUNS}
)
_NOUNS = MappingProxyType(
    {
        tags: tuple(n for n in lx.NOUNS if n.tags & tags)
        for tags in {v.subjects for v in lx.VERBS}
        | {v.objects for v in lx.VERBS}
        | {p.tags for p in lx.PREPS.values()}
    }
)
_ADVERBS = MappingProxyType({t: tuple(a for a in lx.ADVERBS if t in a.tenses) for t in lx.TENSES})


def _dets(noun: Noun) -> tuple[Determiner, ...]:
    return lx.DETERMINERS if noun.countable else _MASS_DETS


def _np_count(tags: frozenset[str]) -> int:
    """Number of distinct noun phrases headed by a noun with one of ``tags``."""
    return sum(
        sum(2 if d.number == "any" and n.countable else 1 for d in _dets(n))
        * (1 + len(_ADJECTIVES[n]))
        for n in _NOUNS.get(tags, ())
    )


def _person(subject: Pronoun | NounPhrase) -> int:
    if isinstance(subject, Pronoun):
        return subject.person
    return lx.THIRD_PL if subject.plural else lx.THIRD_SG


def _np_english(np: NounPhrase) -> list[str]:
    words = [np.noun.en_pl if np.plural and np.noun.en_pl else np.noun.en]
    if np.adj is not None:
        words.insert(0, np.adj.en)
    det = "an" if np.det.en == "a" and words[0][0] in "aeiou" else np.det.en
    return [det, *words]


def _np_spanish(np: NounPhrase) -> list[str]:
    gender = np.noun.gender
    noun = np.noun.es_pl if np.plural and np.noun.es_pl else np.noun.es
    words = [np.det.spanish(gender, np.plural), noun]
    if np.adj is not None:
        words.append(np.adj.spanish(gender, np.plural))
    return words


def _with_prep(prep: str, np_words: list[str]) -> list[str]:
    """Prefix a Spanish preposition, contracting a + el → al and de + el → del."""
    words = prep.split()
    if words[-1] in ("a", "de") and np_words[0] == "el":
        return [*words[:-1], words[-1] + "l", *np_words[1:]]
    return [*words, *np_words]


def _english(c: Clause) -> str:
    subject = [c.subject.en] if isinstance(c.subject, Pronoun) else _np_english(c.subject)
    third = _person(c.subject) == lx.THIRD_SG
    base, third_form, past = c.verb.en
    aux = {"present": "does" if third else "do", "past": "did", "future": "will"}[c.tense]
    if c.form == "question":
        head = [aux, *subject, base]
    elif c.form == "negative":
        head = [*subject, aux, "not", base]
    else:
        present = third_form if third else base
        head = [*subject, {"present": present, "past": past, "future": f"will {base}"}[c.tense]]
    tail = _np_english(c.obj) if c.obj is not None else []
    if c.prep is not None and c.pp is not None:
        tail += [c.prep.en, *_np_english(c.pp)]
    if c.adverb is not None:
        tail.append(c.adverb.en)
    return " ".join([*head, *tail, "?" if c.form == "question" else "."])


def _spanish(c: Clause) -> str:
    if isinstance(c.subject, Pronoun):
        words = [c.subject.es] if c.subject.es else []
    else:
        words = _np_spanish(c.subject)
    if c.form == "negative":
        words.append("no")
    words.append(c.verb.spanish(c.tense, _person(c.subject)))
    if c.obj is not None:
        obj = _np_spanish(c.obj)
        words += _with_prep("a", obj) if "animate" in c.obj.noun.tags else obj
    if c.prep is not None and c.pp is not None:
        words += _with_prep(c.prep.es, _np_spanish(c.pp))
    if c.adverb is not None:
        words.append(c.adverb.es)
    return " ".join(["¿", *words, "?"] if c.form == "question" else [*words, "."])


def render_clause(clause: Clause) -> tuple[str, str]:
    """Return the tokenized (english, spanish) sentences for ``clause``."""
    return _english(clause), _spanish(clause)


def _np_problems(np: NounPhrase, tags: frozenset[str], role: str) -> list[str]:
    problems = []
    if not np.noun.tags & tags:
        problems.append(f"{role} noun {np.noun.en!r} is not one of {sorted(tags)}")
    number = "pl" if np.plural else "sg"
    if np.det not in _dets(np.noun) or np.det.number not in (number, "any"):
        problems.append(f"{role}: determiner {np.det.en!r} does not fit {np.noun.en!r}/{number}")
    if np.plural and not np.noun.countable:
        problems.append(f"{role}: mass noun {np.noun.en!r} has no plural")
    if np.adj is not None and np.adj not in _ADJECTIVES[np.noun]:
        problems.append(f"{role}: adjective {np.adj.en!r} does not fit {np.noun.en!r}")
    return problems


def check_clause(clause: Clause) -> None:
    """Raise ValueError unless ``clause`` is one the generator can produce."""
    c, problems = clause, []
    if c.tense not in lx.TENSES or c.form not in FORMS:
        problems.append(f"unknown tense/form {c.tense!r}/{c.form!r}")
    if isinstance(c.subject, NounPhrase):
        problems += _np_problems(c.subject, c.verb.subjects, "subject")
    elif not c.verb.subjects & _PERSON_TAGS:
        problems.append("pronoun subject not allowed")
    if (c.obj is None) != (not c.verb.objects):
        problems.append(f"object presence does not match verb {c.verb.en[0]!r}")
    elif c.obj is not None:
        problems += _np_problems(c.obj, c.verb.objects, "object")
    if (c.prep is None) != (c.pp is None) or (c.prep is not None and c.prep not in c.verb.preps):
        problems.append("invalid prepositional phrase")
    elif c.prep is not None and c.pp is not None:
        problems += _np_problems(c.pp, c.prep.tags, "prepositional object")
    if c.adverb is not None and c.tense not in c.adverb.tenses:
        problems.append(f"adverb {c.adverb.en!r} does not fit the {c.tense} tense")
    extras = (c.prep is not None) + (c.adverb is not None)
    if (extras > 1) if c.verb.objects else (extras == 0):
        problems.append("wrong number of prepositional phrases/adverbs")
    if c.verb.needs_pp and c.prep is None:
        problems.append(f"verb {c.verb.en[0]!r} needs a prepositional phrase")
    if problems:
        raise ValueError("; ".join(problems))


def max_pairs() -> int:
    """Number of distinct sentences the grammar can produce (upper bound for ``num_pairs``)."""
    total = 0
    for verb in lx.VERBS:
        subjects = _np_count(verb.subjects)
        subjects += len(lx.PRONOUNS) if verb.subjects & _PERSON_TAGS else 0
        pps = sum(_np_count(p.tags) for p in verb.preps)
        for tense in lx.TENSES:
            adverbs = len(_ADVERBS[tense])
            if verb.objects:
                complements = _np_count(verb.objects) * (1 + pps + adverbs)
            elif verb.needs_pp:
                complements = pps * (1 + adverbs)
            else:
                complements = (1 + pps) * (1 + adverbs) - 1
            total += len(FORMS) * subjects * complements
    return total


def _sample_np(rng: random.Random, tags: frozenset[str]) -> NounPhrase:
    noun = rng.choice(_NOUNS[tags])
    det = rng.choice(_dets(noun))
    plural = det.number == "pl" or (det.number == "any" and noun.countable and rng.random() < 0.5)
    adjectives = _ADJECTIVES[noun]
    adj = rng.choice(adjectives) if adjectives and rng.random() < 0.5 else None
    return NounPhrase(det, noun, plural, adj)


def _sample_clause(rng: random.Random) -> Clause:
    verb, tense, form = rng.choice(lx.VERBS), rng.choice(lx.TENSES), rng.choice(FORMS)
    if verb.subjects & _PERSON_TAGS and rng.random() < 0.25:
        subject: Pronoun | NounPhrase = rng.choice(lx.PRONOUNS)
    else:
        subject = _sample_np(rng, verb.subjects)
    obj = _sample_np(rng, verb.objects) if verb.objects else None
    if verb.objects:
        extra = rng.choice(("none", "pp", "adverb") if verb.preps else ("none", "adverb"))
    else:
        extra = rng.choice(("pp", "both") if verb.needs_pp else ("pp", "adverb", "both"))
    prep = pp = adverb = None
    if extra in ("pp", "both"):
        prep = rng.choice(verb.preps)
        pp = _sample_np(rng, prep.tags)
    if extra in ("adverb", "both"):
        adverb = rng.choice(_ADVERBS[tense])
    return Clause(subject, verb, tense, form, obj, prep, pp, adverb)


def generate_pairs(num_pairs: int, seed: int) -> list[tuple[str, str]]:
    """Generate ``num_pairs`` distinct (english, spanish) sentence pairs.

    The output depends only on ``num_pairs`` and ``seed`` (a private ``random.Random``).
    English sentences are pairwise distinct and each maps to exactly one Spanish sentence.

    Raises:
        ValueError: if ``num_pairs`` is < 1 or more than the grammar can produce.
    """
    if isinstance(num_pairs, bool) or not isinstance(num_pairs, int) or num_pairs < 1:
        raise ValueError(f"num_pairs must be a positive integer, got {num_pairs!r}")
    capacity = max_pairs()
    if num_pairs > capacity:
        raise ValueError(f"num_pairs={num_pairs} exceeds the {capacity} sentences the grammar has")
    rng = random.Random(seed)
    seen: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    for _ in range(50 * num_pairs + 1000):
        english, spanish = render_clause(_sample_clause(rng))
        previous = seen.get(english)
        if previous is None:
            seen[english] = spanish
            pairs.append((english, spanish))
            if len(pairs) == num_pairs:
                return pairs
        elif previous != spanish:
            raise RuntimeError(f"grammar is ambiguous: {english!r} -> {previous!r} / {spanish!r}")
    raise ValueError(f"could not draw {num_pairs} distinct pairs; ask for fewer")


def _write_temp(path: Path, lines: Iterable[str]) -> str:
    """Write ``lines`` to a new temporary file next to ``path`` and return its name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(f"{line}\n" for line in lines)
        os.chmod(tmp, 0o644)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write_corpus(
    out_dir: Path,
    num_pairs: int,
    seed: int,
    source_lang: str = "en",
    target_lang: str = "es",
) -> tuple[Path, Path]:
    """Write ``out_dir/sample.<source_lang>`` and ``out_dir/sample.<target_lang>``.

    The files are line-aligned (one sentence per line, UTF-8, "\\n" endings). Both are first
    written to temporary files in ``out_dir`` and then moved into place with ``os.replace``,
    so readers never see a partly written file. ``out_dir`` is created if missing.

    Returns:
        The (source, target) file paths.
    """
    for lang in (source_lang, target_lang):
        if not _LANG_RE.fullmatch(lang):
            raise ValueError(f"invalid language code {lang!r}")
    if source_lang == target_lang:
        raise ValueError("source_lang and target_lang must differ")
    pairs = generate_pairs(num_pairs, seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = out_dir / f"sample.{source_lang}"
    target = out_dir / f"sample.{target_lang}"
    temps: list[str] = []
    try:
        temps.append(_write_temp(source, (english for english, _ in pairs)))
        temps.append(_write_temp(target, (spanish for _, spanish in pairs)))
        os.replace(temps[0], source)
        os.replace(temps[1], target)
    finally:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    return source, target
