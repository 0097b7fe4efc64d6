"""Scores with sacrebleu's own machinery: metrics, signatures, bootstrap intervals, paired tests.

Every number here comes from ``sacrebleu`` 2.x objects used the way its command
line uses them, so ``sacrebleu REF -i HYP -m bleu chrf ter --confidence`` gives
the same scores, intervals and signatures. sacrebleu seeds its resampling from
the ``SACREBLEU_SEED`` environment variable; ``seeded`` sets it for each call.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import numpy as np
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric
from sacrebleu.significance import PairedTest, Result, _bootstrap_resample

from seq2seq.config import EvaluateConfig

References = Sequence[Sequence[str]]


@dataclass(frozen=True)
class MetricSpec:
    """One reported metric: its report key, display label and how to build it."""

    key: str
    label: str
    make: Callable[[], Metric]
    higher_is_better: bool = True
    comparable: bool = True


def metric_specs(config: EvaluateConfig) -> list[MetricSpec]:
    """BLEU, chrF, chrF++ and TER, then the configured tokenized BLEU variants."""
    specs = [
        MetricSpec("bleu", "BLEU", partial(BLEU, tokenize=config.tokenize)),
        MetricSpec("chrf", "chrF", CHRF),
        MetricSpec("chrf++", "chrF++", partial(CHRF, word_order=2)),
        MetricSpec("ter", "TER", TER, higher_is_better=False),
    ]
    for variant in config.extra_bleu:
        case = ", lowercased" if variant.lowercase else ""
        specs.append(
            MetricSpec(
                f"bleu_{variant.tokenize}{'_lc' if variant.lowercase else ''}",
                f"BLEU (tok:{variant.tokenize}{case}; not comparable with the default)",
                partial(BLEU, tokenize=variant.tokenize, lowercase=variant.lowercase, force=True),
                comparable=False,
            )
        )
    return specs


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run sacrebleu's resampling with ``SACREBLEU_SEED`` set to ``seed``, then restore it."""
    previous = os.environ.get("SACREBLEU_SEED")
    os.environ["SACREBLEU_SEED"] = str(seed)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SACREBLEU_SEED"]
        else:
            os.environ["SACREBLEU_SEED"] = previous


def _as_streams(references: References) -> list[list[str]]:
    return [list(stream) for stream in references]


def _score(metric: Metric, hypotheses: Sequence[str], references: References, n: int) -> Any:
    """``metric.corpus_score(hypotheses, references, n_bootstrap=n)``, step by step.

    sacrebleu 2.6's ``Score.estimate_ci`` fails when some resamples score a plain
    ``0.0`` (BLEU without unigram matches) and others a numpy ``float32``; such
    samples are made plain floats first. Otherwise this is exactly its code path.
    """
    stats = metric._extract_corpus_statistics(list(hypotheses), _as_streams(references))
    score = metric._aggregate_and_compute(stats)
    if n > 1:
        metric.n_bootstrap = n
        metric.seed, samples = _bootstrap_resample(stats, metric, n)
        if len({type(sample.score) for sample in samples}) > 1:
            for sample in samples:
                sample.score = float(sample.score)
        score.estimate_ci(samples)
    return score


def corpus_scores(
    hypotheses: Sequence[str], references: References, config: EvaluateConfig
) -> dict[str, dict[str, Any]]:
    """Every metric's corpus score, signature, sacrebleu text line and bootstrap interval."""
    results: dict[str, dict[str, Any]] = {}
    n_bootstrap = config.bootstrap if config.bootstrap >= 2 else 1
    for spec in metric_specs(config):
        metric = spec.make()
        with seeded(config.seed):
            score = _score(metric, hypotheses, references, n_bootstrap)
        signature = str(metric.get_signature())
        interval = None
        if n_bootstrap > 1:
            interval = {"mean": float(score._mean), "halfwidth": float(score._ci)}
        results[spec.key] = {
            "name": score.name,
            "label": spec.label,
            "score": float(score.score),
            "ci95": interval,
            "signature": signature,
            "text": score.format(width=2, signature=signature),
            "higher_is_better": spec.higher_is_better,
            "comparable_with_default": spec.comparable,
        }
    return results


def length_stats(
    hypotheses: Sequence[str], references: References, config: EvaluateConfig
) -> dict[str, Any]:
    """Hypothesis/reference length ratio in BLEU's tokens (closest reference length)."""
    # force: the reported BLEU above has already said whether the data looks tokenized.
    bleu = BLEU(tokenize=config.tokenize, force=True)
    score = bleu.corpus_score(list(hypotheses), _as_streams(references))
    return {
        "ratio": float(score.ratio),
        "hyp_length": int(score.sys_len),
        "ref_length": int(score.ref_len),
        "brevity_penalty": float(score.bp),
        "tokenize": config.tokenize,
    }


def _bucket_ranges(edges: Sequence[int]) -> list[tuple[int, int | None]]:
    lows = [0, *(edge + 1 for edge in edges)]
    return list(zip(lows, [*edges, None], strict=True))


def bucket_scores(
    sources: Sequence[str],
    hypotheses: Sequence[str],
    references: References,
    config: EvaluateConfig,
) -> list[dict[str, Any]]:
    """Corpus BLEU of the sentences whose source has a given number of words."""
    lengths = [len(line.split()) for line in sources]
    buckets = []
    for low, high in _bucket_ranges(config.length_buckets):
        rows = [i for i, n in enumerate(lengths) if n >= low and (high is None or n <= high)]
        bleu = ratio = None
        if rows:
            score = BLEU(tokenize=config.tokenize, force=True).corpus_score(
                [hypotheses[i] for i in rows], [[stream[i] for i in rows] for stream in references]
            )
            bleu, ratio = float(score.score), float(score.ratio)
        label = f"{low}-{high}" if high is not None else f"{low}+"
        buckets.append(
            {
                "label": label,
                "min_words": low,
                "max_words": high,
                "sentences": len(rows),
                "bleu": bleu,
                "length_ratio": ratio,
            }
        )
    return buckets


def sentence_chrf(hypotheses: Sequence[str], references: References) -> list[float]:
    """Sentence-level chrF of every hypothesis against all its references."""
    metric = CHRF()
    return [
        float(metric.sentence_score(hyp, [stream[i] for stream in references]).score)
        for i, hyp in enumerate(hypotheses)
    ]


def extremes(scores: Sequence[float], count: int) -> tuple[list[int], list[int]]:
    """Indices of the ``count`` best and worst sentences; ties go to the earlier line."""
    best = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:count]
    worst = sorted(range(len(scores)), key=lambda i: (scores[i], i))[:count]
    return best, worst


def sample_indices(total: int, count: int, seed: int) -> list[int]:
    """A seeded sample of ``count`` line indices, in file order."""
    return sorted(random.Random(seed).sample(range(total), min(count, total)))


def difference_interval(
    spec: MetricSpec,
    hypotheses: Sequence[str],
    baseline: Sequence[str],
    references: References,
    resamples: int,
    seed: int,
) -> dict[str, float]:
    """The 95% interval of ``spec``'s difference system − baseline, by paired bootstrap.

    Both systems are resampled with sacrebleu's own resampling (``_bootstrap_resample``
    under ``SACREBLEU_SEED=seed``): it draws its line indices with
    ``numpy.random.default_rng(seed).choice(n, size=(resamples, n))``, exactly as
    ``PairedTest(test_type="bs")`` draws them, so resample ``i`` of the system and of the
    baseline score the same lines, and the system's resampled scores are those of sacrebleu's
    paired bootstrap test itself. The difference of each pair of resampled scores is taken;
    ``low`` and ``high`` are the order statistics sacrebleu's ``estimate_ci`` uses for its
    95% interval (of ``resamples`` sorted differences, those at ``resamples // 40`` and
    ``resamples - resamples // 40 - 1``), ``mean`` their mean.
    """
    metric = spec.make()
    streams = _as_streams(references)
    scores = []
    for lines in (hypotheses, baseline):
        stats = metric._extract_corpus_statistics(list(lines), streams)
        with seeded(seed):
            scores.append(
                [float(s.score) for s in _bootstrap_resample(stats, metric, resamples)[1]]
            )
    differences = np.sort(np.array(scores[0]) - np.array(scores[1]))
    cut = resamples // 40
    return {
        "mean": float(differences.mean()),
        "low": float(differences[cut]),
        "high": float(differences[resamples - cut - 1]),
    }


def _paired_test(
    spec: MetricSpec,
    hypotheses: Sequence[str],
    baseline: Sequence[str],
    references: References,
    config: EvaluateConfig,
) -> tuple[dict[str, Any], int, int]:
    """One metric's paired test: its report entry, the test's samples and the resamples of
    the difference's interval."""
    with seeded(config.seed):
        test = PairedTest(
            [("baseline", list(baseline)), ("system", list(hypotheses))],
            {spec.key: spec.make()},
            _as_streams(references),
            test_type=config.paired_test,
            n_samples=config.paired_samples,
        )
        signatures, table = test()
    resamples = test.n_samples if config.paired_test == "bs" else config.bootstrap
    (name,) = signatures
    base, system = (cast(Result, result) for result in table[name])
    interval = None
    if resamples >= 2:
        interval = difference_interval(
            spec, hypotheses, baseline, references, resamples, config.seed
        )
    entry = {
        "label": spec.label,
        "baseline": float(base.score),
        "system": float(system.score),
        "delta": float(system.score - base.score),
        "delta_ci95": interval,
        "p_value": float(cast(float, system.p_value)),
        "higher_is_better": spec.higher_is_better,
        "signature": str(signatures[name]),
    }
    return entry, test.n_samples, resamples


def paired_significance(
    hypotheses: Sequence[str],
    baseline: Sequence[str],
    references: References,
    config: EvaluateConfig,
) -> dict[str, Any]:
    """sacrebleu's paired bootstrap (``bs``) or approximate randomization (``ar``) test of the
    system against the baseline, per metric; ``delta`` is system minus baseline, ``delta_ci95``
    its 95% interval (``difference_interval``) from the paired test's own resamples (``bs``),
    or from ``config.bootstrap`` paired resamples (``ar``; none when that is 0)."""
    metrics: dict[str, dict[str, Any]] = {}
    samples = resamples = 0
    for spec in metric_specs(config):
        metrics[spec.key], samples, resamples = _paired_test(
            spec, hypotheses, baseline, references, config
        )
    return {
        "test": config.paired_test,
        "samples": samples,
        "seed": config.seed,
        "interval_resamples": resamples,
        "metrics": metrics,
    }
