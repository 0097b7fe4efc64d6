"""Batch translation on Beam (``nmt translate``) against ``python -m serving.translate``.

    .venv/bin/python benchmarks/batch_translate.py --model serving/models/NAME \\
        --input ../shared/data/multi30k/test_2016_flickr.en ../shared/data/multi30k/val.en \\
        --lines 100000 --json benchmarks/results_batch_translate.json

The input files' lines, repeated in order up to ``--lines``, make one input file. Each
system translates it in a child process, with the export's stored search options (or the
same ``--beam-size``), in this order, ``--rounds`` times (the order rotating each round,
so background load on a shared machine hits them alike):

* ``serving.translate``: one process;
* ``nmt translate`` with 1 worker (FnApiRunner, in the driver process);
* ``nmt translate`` with 2 workers (``--direct_num_workers=2``, ``--direct_running_mode``
  as ``--mode`` says: worker processes or threads; ``--worker-threads N`` gives this run
  N TensorFlow threads per worker process).

For each run: wall-clock seconds and sentences/s (process start to exit, model loading
included, as a user waits for it), the seconds to the first output line (``serving.
translate`` writes a chunk at a time; ``nmt translate`` writes its outputs at the end),
the peak RSS of every process of the run's tree (psutil, every 0.1 s: the driver and each
Beam worker process), and whether the output equals ``serving.translate``'s byte for byte.
The model's own memory is taken as ``serving.translate``'s peak RSS (the export loaded and
translating); a worker's overhead is its peak RSS minus that. Throughput ratios are against
``serving.translate`` in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
WORKER_MODULE = "apache_beam.runners.worker.sdk_worker_main"
SYSTEMS = ("serving.translate", "nmt translate, 1 worker", "nmt translate, 2 workers")


def write_lines(sources: list[Path], lines: int, path: Path) -> None:
    """``lines`` lines: the lines of ``sources`` in order, repeated as often as needed."""
    text = [line for s in sources for line in s.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(f"{line}\n" for line in islice(cycle(text), lines)), encoding="utf-8")


def commands(args: argparse.Namespace, source: Path, out: Path) -> dict[str, tuple[list, Path]]:
    """Each system's command line and output file."""
    python = [sys.executable]
    search = ["--beam-size", str(args.beam_size)] if args.beam_size else []
    serving = out / "serving.txt"
    reference = [*python, "-m", "serving.translate", "--model", str(args.model)]
    reference += ["--input", str(source), "--output", str(serving), *search]
    systems = {SYSTEMS[0]: (reference, serving)}
    for workers, name in ((1, SYSTEMS[1]), (2, SYSTEMS[2])):
        folder = out / f"nmt-{workers}"
        beam = [f"--direct_num_workers={workers}"]
        if workers > 1:
            beam.append(f"--direct_running_mode={args.mode}")
        command = [*python, "-m", "nmt.cli", "translate", "--model", str(args.model)]
        command += ["--input", str(source), "--output", f"{folder}/", *search]
        command += ["--runner=FnApiRunner", *beam]
        systems[name] = (command, folder / source.name)
    return systems


def _rss(process: psutil.Process) -> dict[int, int]:
    """RSS of ``process`` and of each Beam worker process it started, by pid."""
    sizes = {}
    for p in [process, *process.children(recursive=True)]:
        try:
            command = p.cmdline()
            # A worker is started through a shell: count the Python process only.
            if p is process or (WORKER_MODULE in command and "python" in command[0]):
                sizes[p.pid] = p.memory_info().rss
        except psutil.Error:
            continue
    return sizes


def run(command: list[str], output: Path, lines: int, env: dict[str, str]) -> dict[str, Any]:
    """Runs ``command``; its seconds, seconds to the first output line and peak RSS by pid."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE)
    process, peaks, first = psutil.Process(child.pid), {}, None
    while child.poll() is None:
        for pid, size in _rss(process).items():
            peaks[pid] = max(peaks.get(pid, 0), size)
        if first is None and output.exists() and output.stat().st_size > 0:
            first = time.perf_counter() - start
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    errors = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({child.returncode}):\n{errors[-3000:]}")
    driver = peaks.pop(child.pid, 0)
    return {
        "seconds": round(seconds, 2),
        "sentences_per_s": round(lines / seconds, 1),
        "first_line_s": round(first if first is not None else seconds, 2),
        "driver_peak_rss_mib": round(driver / 2**20),
        "worker_peak_rss_mib": sorted(round(size / 2**20) for size in peaks.values()),
    }


def summarise(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Per system: the median seconds and sentences/s over rounds, each round's ratio to
    ``serving.translate``, peak RSS (the largest over rounds) and the output check."""
    summary: dict[str, Any] = {}
    model_rss = max(r[SYSTEMS[0]]["driver_peak_rss_mib"] for r in rounds)
    for name in SYSTEMS:
        runs = [r[name] for r in rounds]
        ratios = [r[name]["sentences_per_s"] / r[SYSTEMS[0]]["sentences_per_s"] for r in rounds]
        rates = sorted(run["sentences_per_s"] for run in runs)
        # In-process runners: the driver is the worker.
        worker_rss = [max(w) for run in runs if (w := run["worker_peak_rss_mib"])]
        largest = max(worker_rss) if worker_rss else max(r["driver_peak_rss_mib"] for r in runs)
        summary[name] = {
            "sentences_per_s_median": rates[len(rates) // 2],
            "ratio_to_serving_translate": [round(r, 3) for r in ratios],
            "first_line_s": [run["first_line_s"] for run in runs],
            "peak_rss_per_worker_mib": largest,
            "worker_overhead_over_model_mib": largest - model_rss,
            "identical_output": all(run.get("identical", True) for run in runs),
        }
    return summary


def main() -> None:
    """Parses the command line, runs every system each round, prints and writes JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="serving/models/NAME[/VERSION]")
    parser.add_argument("--input", type=Path, nargs="+", required=True, help="lines files")
    parser.add_argument("--lines", type=int, default=100_000, help="lines to translate")
    parser.add_argument("--beam-size", type=int, help="default: the export's stored value")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--mode", choices=["multi_processing", "multi_threading"], default="multi_processing"
    )
    parser.add_argument(
        "--worker-threads",
        type=int,
        help="TensorFlow threads of each of the 2 workers (TF_NUM_INTRAOP_THREADS and "
        "TF_NUM_INTEROP_THREADS; default: TensorFlow's, as the other runs)",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    two_workers_env = dict(env)
    if args.worker_threads:
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            two_workers_env[name] = str(args.worker_threads)
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "input.txt"
        write_lines(args.input, args.lines, source)
        for number in range(args.rounds):
            folder = Path(tmp) / f"round-{number}"
            folder.mkdir()
            systems = commands(args, source, folder)
            order = list(SYSTEMS[number % 3 :] + SYSTEMS[: number % 3])
            results = {
                name: run(
                    *systems[name], args.lines, two_workers_env if name == SYSTEMS[2] else env
                )
                for name in order
            }
            reference = systems[SYSTEMS[0]][1].read_bytes()
            for name in SYSTEMS[1:]:
                results[name]["identical"] = systems[name][1].read_bytes() == reference
            print(json.dumps({"round": number, **results}), flush=True)
            rounds.append(results)
    report = {
        "model": str(args.model),
        "inputs": [str(p) for p in args.input],
        "lines": args.lines,
        "beam_size": args.beam_size,
        "mode": args.mode,
        "worker_threads": args.worker_threads,
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "summary": summarise(rounds),
    }
    print(json.dumps(report["summary"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
