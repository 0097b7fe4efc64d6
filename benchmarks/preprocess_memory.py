"""Peak memory of the preprocessing stage at 100k versus 1M pairs.

Builds corpora of N distinct pairs from Tatoeba spa-eng (118k pairs) by
numbering the repeats (the k-th repeat of a pair gets `` (k)`` appended to both
sides), runs the stage on each in a child process with 2 worker processes, and
samples the resident memory (RSS) of the whole process tree (driver + Beam
workers) every 0.1 s with psutil. SentencePiece trains on a bounded sample
(``max_sentences``), the same at every size.

    .venv/bin/python benchmarks/preprocess_memory.py --pairs 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
TATOEBA = REPO.parent / "shared" / "data" / "tatoeba" / "spa-eng.tsv"
MAX_SENTENCES = 100_000


def numbered_pairs(source: Path, pairs: int) -> Iterator[str]:
    """``pairs`` TSV lines: the corpus, then numbered repeats of it."""
    lines = [line.split("\t")[:2] for line in source.read_text(encoding="utf-8").splitlines()]
    for n in range(pairs):
        src, tgt = lines[n % len(lines)]
        repeat = n // len(lines)
        suffix = f" ({repeat + 1})" if repeat else ""
        yield f"{src}{suffix}\t{tgt}{suffix}\n"


def run_child(corpus: Path, out: Path) -> None:
    """The measured process: the whole stage on ``corpus`` with 2 worker processes."""
    from pipeline.config import InputConfig, PreprocessConfig, SentencePieceConfig
    from pipeline.preprocess import run_preprocess

    logging.basicConfig(level=logging.WARNING)
    config = PreprocessConfig(
        source_lang="en",
        target_lang="es",
        inputs=(InputConfig(name="tatoeba", format="tsv", path=str(corpus)),),
        sentencepiece=SentencePieceConfig(max_sentences=MAX_SENTENCES),
        beam_args=(
            "--runner=FnApiRunner",
            "--direct_num_workers=2",
            "--direct_running_mode=multi_processing",
        ),
    )
    stats = run_preprocess(config, out)
    print(json.dumps({"kept": stats["corpora"]["tatoeba"]["kept"]}))


def _tree_rss(process: psutil.Process) -> tuple[int, int]:
    """(sum, max) of the RSS of ``process`` and its descendants, in bytes."""
    sizes = []
    for p in [process, *process.children(recursive=True)]:
        try:
            sizes.append(p.memory_info().rss)
        except psutil.Error:
            continue
    return sum(sizes), max(sizes, default=0)


def measure(pairs: int, tmp: Path) -> dict[str, float]:
    """Builds the corpus, runs the stage in a child process and samples its tree's RSS."""
    corpus = tmp / f"pairs-{pairs}.tsv"
    with corpus.open("w", encoding="utf-8") as handle:
        handle.writelines(numbered_pairs(TATOEBA, pairs))
    command = [sys.executable, __file__, "--child", str(corpus), str(tmp / f"out-{pairs}")]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    process, peak_tree, peak_process = psutil.Process(child.pid), 0, 0
    while child.poll() is None:
        tree, largest = _tree_rss(process)
        peak_tree, peak_process = max(peak_tree, tree), max(peak_process, largest)
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    output = child.stdout.read().decode() if child.stdout else ""
    if child.returncode != 0:
        raise RuntimeError(f"preprocessing {corpus} failed with status {child.returncode}")
    return {
        "pairs": pairs,
        "kept": json.loads(output.strip().splitlines()[-1])["kept"],
        "seconds": round(seconds, 1),
        "pairs_per_s": round(pairs / seconds),
        "peak_tree_rss_mib": round(peak_tree / 2**20),
        "peak_process_rss_mib": round(peak_process / 2**20),
        "rusage_children_max_rss_mib": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        ),
    }


def main() -> None:
    """Parses the command line, runs the measurements and prints them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", nargs=2, type=Path, metavar=("CORPUS", "OUT"))
    args = parser.parse_args()
    if args.child:
        run_child(*args.child)
        return
    for pairs in args.pairs:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(measure(pairs, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
