"""Two training workers with one thread each against one worker with two threads, on one machine.

Trains ``configs/multi30k_en_de.yaml`` for ``--steps`` updates of the same global batch (the
config's ``batch_size`` tokens: one worker takes all of it, each of two workers half) and
reports target tokens/s and the median step time after ``--warmup`` steps (tracing), then,
on the same cluster, the median time of one all-reduce of a gradient-sized set of tensors
alone: its share of a step, and what it would cost between machines. Each worker is a child
process started with ``TF_CONFIG`` (two workers on 127.0.0.1) and
``TF_NUM_INTRAOP_THREADS``/``TF_NUM_INTEROP_THREADS``.

    python benchmarks/multi_worker.py --steps 200 --run-root /tmp/multi30k
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "multi30k_en_de.yaml"
QUIET = ["train.dev_bleu=false", "train.tensorboard=false", "train.checkpoint_every=1000000"]
QUIET += ["train.validate_every=1000000", "train.epochs=1000"]


def worker_overrides(run_root: Path, steps: int, batch: int, workers: int) -> tuple[str, ...]:
    distribution = "multi_worker" if workers > 1 else "one_device"
    return (
        *QUIET,
        f"run_root={run_root}",
        f"train.max_steps={steps}",
        f"train.batch_size={batch}",
        f"train.distribution={distribution}",
    )


def run_worker(args: argparse.Namespace) -> None:
    """In a worker process: train, timing every step, then time all-reduces alone."""
    import tensorflow as tf

    from core.contract import RunLayout
    from nmt.config import load_config
    from seq2seq.training import Trainer

    config = load_config(CONFIG, tuple(args.overrides))
    trainer = Trainer(config.model, config.train, RunLayout(config.run_dir))
    steps: list[tuple[float, float]] = []
    step = trainer._train_step

    def timed(*inputs: Any) -> tf.Tensor:
        start = time.perf_counter()
        out = step(*inputs)
        tokens = float(out.numpy()[1])
        steps.append((time.perf_counter() - start, tokens))
        return out

    trainer._train_step = timed
    trainer.train()
    grads = [tf.zeros(v.shape, v.dtype) for v in trainer.model.trainable_variables]

    def summed() -> Any:
        return tf.distribute.get_replica_context().all_reduce("sum", grads)

    @tf.function
    def all_reduce() -> Any:
        return trainer.strategy.run(summed)

    reduces = []
    for _ in range(args.reduces):
        start = time.perf_counter()
        for result in trainer.strategy.experimental_local_results(all_reduce()):
            for tensor in result:
                tensor.numpy()
        reduces.append(time.perf_counter() - start)
    floats = sum(int(tf.size(g)) for g in grads)
    Path(args.worker_out).write_text(
        json.dumps({"steps": steps, "all_reduce": reduces, "gradient_floats": floats})
    )


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def launch(args: argparse.Namespace, data: Path, workers: int, threads: int) -> dict[str, Any]:
    """Train one configuration (``workers`` processes of ``threads`` threads); the chief's
    timings and every worker's all-reduce timings."""
    from nmt.config import load_config

    name = f"{workers}x{threads}"
    root = args.run_root / name
    base = load_config(CONFIG, (f"run_root={root}",))
    shutil.rmtree(base.run_dir, ignore_errors=True)  # a fresh run, not a resumed one
    base.run_dir.mkdir(parents=True)
    (base.run_dir / "data").symlink_to(data)
    batch = base.train.batch_size // workers
    overrides = worker_overrides(root, args.steps, batch, workers)
    ports = free_ports(workers)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    processes, outs = [], []
    for index in range(workers):
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "TF_NUM_INTRAOP_THREADS": str(threads),
            "TF_NUM_INTEROP_THREADS": str(threads),
        }
        if workers > 1:
            task = {"type": "worker", "index": index}
            env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": task})
        out = root / f"worker{index}.json"
        command = [sys.executable, __file__, "--worker-out", str(out), "--reduces", "30"]
        command += [f"--set={o}" for o in overrides]
        processes.append(subprocess.Popen(command, cwd=REPO, env=env))
        outs.append(out)
    started, load = time.monotonic(), os.getloadavg()[0]
    if any(p.wait() != 0 for p in processes):
        raise RuntimeError(f"{name}: a worker failed")
    wall = time.monotonic() - started
    results = [json.loads(out.read_text()) for out in outs]
    timed = results[0]["steps"][args.warmup :]
    seconds = sum(s for s, _ in timed)
    step = statistics.median(s for s, _ in timed)
    reduce = statistics.median(r for res in results for r in res["all_reduce"][5:])
    return {
        "workers": workers,
        "threads_per_worker": threads,
        "batch_tokens_per_worker": batch,
        "timed_steps": len(timed),
        "target_tokens_per_second": sum(t for _, t in timed) / seconds,
        "median_step_seconds": step,
        "median_all_reduce_seconds": reduce,
        "all_reduce_share_of_step": reduce / step,
        "gradient_megabytes": results[0]["gradient_floats"] * 4 / 1e6,
        "wall_seconds_with_start_up": wall,
        "load_average_at_start_and_end": [load, os.getloadavg()[0]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=40, help="steps left out of the timing")
    parser.add_argument("--run-root", type=Path, default=Path("/tmp/multi_worker_benchmark"))
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results_multi_worker.json")
    parser.add_argument("--two-first", action="store_true", help="run the two workers first")
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    parser.add_argument("--reduces", type=int, default=30, help=argparse.SUPPRESS)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    if args.worker_out:
        run_worker(args)
        return
    from nmt import stages
    from nmt.config import load_config

    config = load_config(CONFIG, (f"run_root={args.run_root}",))
    if not (config.run_dir / "data" / "complete.json").exists():
        stages.preprocess(config)
    data = (config.run_dir / "data").resolve()
    results: dict[str, Any] = {"steps": args.steps, "warmup_steps": args.warmup}
    order = [("one_worker_two_threads", 1, 2), ("two_workers_one_thread", 2, 1)]
    for name, workers, threads in reversed(order) if args.two_first else order:
        results[name] = launch(args, data, workers, threads)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
