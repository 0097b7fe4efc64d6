"""Throughput of the preprocessing stage against a plain single-process Python loop.

Preprocesses Tatoeba spa-eng (118k pairs) end to end with Beam's local
``FnApiRunner`` at 2 workers (worker processes by default, or threads of this
process with ``--mode multi_threading``; ``--workers 1``: one in-process
worker), then does the same work in one plain Python loop that reuses the
stage's functions (reading, cleaning, dedupe, split, SentencePiece training on
the same sample, encoding with the same model, TFRecord writing), and reports
pairs/s and the ratio loop time / Beam time, with and without the (identical,
single-machine) SentencePiece training, and the 1-minute load average at the
start and end. The loop's outputs are checked to be byte-identical to Beam's.

    .venv/bin/python benchmarks/preprocess_throughput.py [--data PATH] [--workers 2]
    .venv/bin/python benchmarks/preprocess_throughput.py --mode multi_threading
    .venv/bin/python benchmarks/preprocess_throughput.py --pairs 1000000 --max-sentences 200000

``--pairs N`` runs on N distinct pairs built from the corpus by numbering its
repeats (as ``preprocess_memory.py`` does) instead of the corpus itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sentencepiece as spm

from core.contract import SPLITS, DataLayout
from pipeline.cleaning import clean_record
from pipeline.config import (
    CleaningConfig,
    InputConfig,
    PreprocessConfig,
    SentencePieceConfig,
    SplitConfig,
)
from pipeline.encoding import make_example, shard_of
from pipeline.preprocess import run_preprocess
from pipeline.readers import Record, decode_line, iter_lines
from pipeline.recordio import tfrecord_frame
from pipeline.splitting import split_of
from pipeline.subwords import train_sentencepiece

REPO = Path(__file__).resolve().parent.parent
TATOEBA = REPO.parent / "shared" / "data" / "tatoeba" / "spa-eng.tsv"


MODES = ("multi_processing", "multi_threading")


def make_config(
    data: Path, workers: int, max_sentences: int = 1_000_000, mode: str = "multi_processing"
) -> PreprocessConfig:
    """The benchmark's config: default cleaning and SentencePiece, 4 train shards.

    The runner is always named: without ``--runner``, Beam's ``DirectRunner``
    first tries to fetch and start the Prism runner, then falls back.
    """
    beam_args: tuple[str, ...] = ("--runner=FnApiRunner",)
    if workers > 1:
        beam_args += (f"--direct_num_workers={workers}", f"--direct_running_mode={mode}")
    return PreprocessConfig(
        source_lang="en",
        target_lang="es",
        inputs=(InputConfig(name="tatoeba", format="tsv", path=str(data)),),
        split=SplitConfig(salt="bench"),
        sentencepiece=SentencePieceConfig(max_sentences=max_sentences),
        num_shards=4,
        beam_args=beam_args,
    )


def _records(path: Path) -> Iterator[Record]:
    for number, raw in enumerate(iter_lines(str(path)), start=1):
        text, reason = decode_line(raw, number)
        columns = text.split("\t")
        if reason or len(columns) < 2:
            yield "tatoeba", number, text, "", reason or "too_few_columns"
        else:
            yield "tatoeba", number, columns[0], columns[1], ""


def _clean_dedupe_split(path: Path, config: PreprocessConfig) -> dict[str, list[tuple[str, str]]]:
    cleaning: CleaningConfig = config.cleaning
    seen: set[tuple[str, str]] = set()
    splits: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    for record in _records(path):
        _, _, source, target, reason = clean_record(record, cleaning)
        if reason or (source, target) in seen:
            continue
        seen.add((source, target))
        splits[split_of(source, config.split)].append((source, target))
    held_out = {s for split in ("dev", "test") for s, _ in splits[split]}
    splits["train"] = [p for p in splits["train"] if p[0] not in held_out]
    return {split: sorted(pairs) for split, pairs in splits.items()}


def _encode(pairs: list[tuple[str, str]], model: str, paths: list[str]) -> None:
    sp = spm.SentencePieceProcessor(model_file=model)
    shards: list[list[bytes]] = [[] for _ in paths]
    for start in range(0, len(pairs), 1000):
        batch = pairs[start : start + 1000]
        source_ids = sp.encode([s for s, _ in batch], num_threads=1)
        target_ids = sp.encode([t for _, t in batch], num_threads=1)
        for (s, t), s_ids, t_ids in zip(batch, source_ids, target_ids, strict=True):
            shards[shard_of(s, t, len(paths))].append(tfrecord_frame(make_example(s_ids, t_ids)))
    for path, records in zip(paths, shards, strict=True):
        Path(path).write_bytes(b"".join(records))


def plain_loop(data: Path, config: PreprocessConfig, out: Path) -> dict[str, float]:
    """The same work as the stage, in one process; returns its timings in seconds."""
    start = time.perf_counter()
    layout = DataLayout(str(out), config.source_lang, config.target_lang)
    for sub in ("text", "sentencepiece", "tfrecords"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    splits = _clean_dedupe_split(data, config)
    for split, pairs in splits.items():
        for path, side in zip(layout.texts(split), (0, 1), strict=True):
            Path(path).write_text("".join(p[side] + "\n" for p in pairs), encoding="utf-8")
    train_start = time.perf_counter()
    train_sentencepiece(*layout.texts("train"), config.sentencepiece, out / "sentencepiece")
    train_seconds = time.perf_counter() - train_start
    for split, pairs in splits.items():
        shards = config.num_shards if split == "train" else 1
        paths = [layout.tfrecord(split, i, shards) for i in range(shards)]
        _encode(pairs, layout.model("source"), paths)
    return {"total": time.perf_counter() - start, "sentencepiece": train_seconds}


def _same_outputs(beam_out: Path, loop_out: Path) -> bool:
    names = [str(p.relative_to(loop_out)) for p in loop_out.rglob("*") if p.is_file()]
    return all((beam_out / n).read_bytes() == (loop_out / n).read_bytes() for n in names)


def _measure(data: Path, config: PreprocessConfig, tmp: Path) -> dict[str, object]:
    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    stats = run_preprocess(config, tmp / "beam")
    beam_seconds = time.perf_counter() - start
    loop = plain_loop(data, config, tmp / "loop")
    pairs = stats["corpora"]["tatoeba"]["input"]
    train = loop["sentencepiece"]
    return {
        "load_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "pairs": pairs,
        "beam_seconds": round(beam_seconds, 2),
        "loop_seconds": round(loop["total"], 2),
        "sentencepiece_seconds": round(train, 2),
        "beam_pairs_per_s": round(pairs / beam_seconds),
        "loop_pairs_per_s": round(pairs / loop["total"]),
        "ratio": round(loop["total"] / beam_seconds, 2),
        "ratio_without_sentencepiece": round((loop["total"] - train) / (beam_seconds - train), 2),
        "identical_outputs": _same_outputs(tmp / "beam", tmp / "loop"),
    }


def main() -> None:
    """Parses the command line, runs the measurements and prints them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=TATOEBA)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mode", choices=MODES, default="multi_processing")
    parser.add_argument("--pairs", type=int, default=0, help="numbered pairs (0: the corpus)")
    parser.add_argument("--max-sentences", type=int, default=1_000_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as name:
        tmp, data = Path(name), args.data
        if args.pairs:
            from preprocess_memory import numbered_pairs

            data = tmp / "numbered.tsv"
            with data.open("w", encoding="utf-8") as handle:
                handle.writelines(numbered_pairs(args.data, args.pairs))
        config = make_config(data, args.workers, args.max_sentences, args.mode)
        mode = args.mode if args.workers > 1 else "in_process"
        report = {"workers": args.workers, "mode": mode, **_measure(data, config, tmp)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
