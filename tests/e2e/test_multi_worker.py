"""Two training workers on 127.0.0.1 (``MultiWorkerMirroredStrategy``, ``TF_CONFIG``): they
stop at the same step (on step count and on the chief's clock), only the chief writes the run
folder, the result equals one worker's training on the same global batches, and a killed
cluster resumes from its last checkpoint.

Batches of 28 sentences cut the tiny train split into 15 batches per epoch: an odd number, so
every epoch the workers' shares hold different numbers of sentences and the 15th batch is
dropped for both (7 steps an epoch); the first test trains past the epoch's end: nobody waits.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "tiny.yaml"
NMT = [sys.executable, "-m", "nmt.cli"]
BASE = ["train.batch_size=28", "train.epochs=50", "train.dev_bleu=false"]
WAIT = 240.0  # seconds a cluster may take before the test gives up on it
# Two workers and one do the same arithmetic in a different order (each worker's partial sums
# added by the all-reduce, against one sum over the stacked batch), so results differ by float32
# rounding: measured, at most 1 ulp (losses 9e-8 relative, weights of magnitude <= 1.04 by
# 1.2e-7). The tolerances allow about 8 ulps; one step on a different batch, or clipping each
# replica's share of the gradient, moves losses by 1e-3 and weights by up to the learning rate.
RTOL = 1e-6
ATOL = 1e-6


def sets(*overrides: str) -> list[str]:
    return [arg for value in (*BASE, *overrides) for arg in ("--set", value)]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def env_of(task: int, ports: list[int], scratch: Path) -> dict[str, str]:
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    tf_config = {"cluster": cluster, "task": {"type": "worker", "index": task}}
    return {
        **os.environ,
        "TF_CONFIG": json.dumps(tf_config),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": str(REPO),
        "TMPDIR": str(scratch),  # where the other worker's throwaway checkpoints go
    }


class Cluster:
    """Two ``nmt train`` workers started together; stderr of worker i in ``logs[i]``."""

    def __init__(self, cwd: Path, overrides: list[str], name: str) -> None:
        ports = free_ports(2)
        self.scratch = cwd / f"{name}-tmp"
        self.scratch.mkdir()
        self.logs = [cwd / f"{name}-worker{i}.log" for i in range(2)]
        self.processes = [
            subprocess.Popen(
                [*NMT, "train", str(CONFIG), *overrides, "--set", "train.distribution=auto"],
                cwd=cwd,
                env=env_of(i, ports, self.scratch),
                stdout=subprocess.DEVNULL,
                stderr=log.open("w"),
            )
            for i, log in enumerate(self.logs)
        ]

    def wait(self, timeout: float = WAIT) -> list[int]:
        """Exit codes; kills both and fails if they do not end in ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        try:
            return [p.wait(timeout=max(deadline - time.monotonic(), 1)) for p in self.processes]
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the cluster did not finish in {timeout} s:\n{self.tail()}")

    def kill(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(timeout=60)

    def tail(self) -> str:
        return "\n".join(log.read_text()[-2000:] for log in self.logs)

    def lines(self, worker: int, marker: str) -> list[str]:
        text = self.logs[worker].read_text()
        return [line.split(marker, 1)[1] for line in text.splitlines() if marker in line]

    def results(self) -> list[dict[str, object]]:
        """Each worker's ``training done`` report."""
        return [json.loads(self.lines(i, "training done: ")[-1]) for i in range(2)]


@pytest.fixture(scope="module")
def tiny_data(tiny_run: dict[str, Path]) -> Path:
    """The tiny config's preprocessed data folder (the session's tiny run's, read only)."""
    return tiny_run["run_dir"] / "data"


def new_run(tiny_data: Path, root: Path) -> Path:
    """A working folder whose ``runs/tiny`` holds a copy of the data and nothing else."""
    shutil.copytree(tiny_data, root / "runs" / "tiny" / "data")
    return root / "runs" / "tiny"


def latest_step(checkpoints: Path) -> int:
    state = checkpoints / "checkpoint"
    text = state.read_text() if state.exists() else ""
    return int(text.split('"')[1].split("-")[-1]) if text else 0


def checkpoint_values(path: str) -> dict[str, np.ndarray]:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(path)
    names = reader.get_variable_to_shape_map()
    return {n: reader.get_tensor(n) for n in names if "save_counter" not in n and "GRAPH" not in n}


def run_files(run_dir: Path) -> set[str]:
    """What training wrote into the run folder (the data folder aside)."""
    files = {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()}
    return {f for f in files if not f.startswith("data/")}


def merged_pairs(make_dataset, *args, shard=None, skip_batches=0, epoch=0, **kwargs):  # type: ignore[no-untyped-def]
    """One worker's training input as the global batches of two: batches 2k and 2k + 1 of
    the stream padded to one length and stacked (dev batches are left alone)."""
    import tensorflow as tf

    if shard is None:
        return make_dataset(*args, **kwargs)
    stream = list(make_dataset(*args, epoch=epoch, **kwargs))

    def pad(t: tf.Tensor, length: int) -> tf.Tensor:
        return tf.pad(t, [[0, 0], [0, length - t.shape[1]]])

    def merge(a, b):  # type: ignore[no-untyped-def]
        parts = [tf.nest.flatten(a), tf.nest.flatten(b)]
        lengths = [max(x.shape[1], y.shape[1]) for x, y in zip(*parts, strict=True)]
        joined = [
            tf.concat([pad(x, n), pad(y, n)], 0) for x, y, n in zip(*parts, lengths, strict=True)
        ]
        return tf.nest.pack_sequence_as(a, joined)

    pairs = [merge(stream[i], stream[i + 1]) for i in range(0, len(stream) - 1, 2)]
    spec = tf.TensorSpec([None, None], tf.int32)
    return tf.data.Dataset.from_generator(
        lambda: iter(pairs[skip_batches:]), output_signature=((spec, spec), spec)
    )


def validations(run_dir: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_workers_train_like_one_on_the_same_global_batches(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers' 8 steps equal one worker's 8 steps on the same global batches.

    About a minute: two worker processes start TensorFlow and its collective runtime, then
    the reference trains in this process; validating at every step is what is compared."""
    import functools

    from core.contract import RunLayout
    from nmt.config import load_config
    from seq2seq import training
    from seq2seq.data import ReplicaShard, make_dataset, split_files

    steps = ["train.max_steps=8", "train.validate_every=1", "train.checkpoint_every=100"]
    run_dir = new_run(tiny_data, tmp_path / "two")
    cluster = Cluster(tmp_path / "two", sets(*steps), "train")
    assert cluster.wait() == [0, 0], cluster.tail()
    results = cluster.results()
    assert [r["steps"] for r in results] == [8, 8]  # past the end of epoch 1: nobody waits
    # Worker 1 never validates: its best dev loss is the chief's, shared at every validation.
    assert results[1]["best_dev_loss"] == results[0]["best_dev_loss"] < 10
    assert (
        "global batch = 28 sentences per replica x 2 = 56 sentences" in cluster.logs[0].read_text()
    )

    # Uneven shards: 15 batches an epoch, the workers' shares hold different sentence counts.
    files = split_files(tiny_data, "train")
    assert sum(1 for _ in make_dataset(files, 28, 100, 20000, 2)) == 15
    sentences = [
        sum(int(out.shape[0]) for _, out in make_dataset(files, 28, 100, 20000, 2, shard=s))
        for s in (ReplicaShard(2, 0, 1), ReplicaShard(2, 1, 1))
    ]
    assert sentences[0] != sentences[1]

    # Only the chief's files, and each validation logged once.
    files_written = run_files(run_dir)
    events = [f for f in files_written if f.startswith("tensorboard/")]
    best = {f for f in files_written if f.startswith("best/")}
    checkpoints = {f for f in files_written if f.startswith("checkpoints/")}
    assert len(events) == 1 and len(best) == 3
    shards = {f"checkpoints/ckpt-{s}.{e}" for s in (7, 8) for e in ("index", "data-00000-of-00001")}
    assert checkpoints == {"checkpoints/checkpoint", *shards}
    assert files_written - {*events, *best, *checkpoints} == {
        ".lock",
        "config.yaml",
        "train_log.jsonl",
    }
    assert not any(cluster.scratch.iterdir())
    assert [v["step"] for v in validations(run_dir)] == list(range(1, 9))

    # One worker, one replica, fed the same global batches.
    overrides = (*BASE, *steps, "train.distribution=one_device", f"run_root={tmp_path / 'one'}")
    config = load_config(CONFIG, overrides)
    shutil.copytree(tiny_data, config.run_dir / "data")
    merged = functools.partial(merged_pairs, make_dataset)
    monkeypatch.setattr(training, "make_dataset", merged)
    keras.backend.clear_session()  # as in the workers' fresh processes: no names left over
    training.Trainer(config.model, config.train, RunLayout(config.run_dir)).train()

    two, one = validations(run_dir), validations(config.run_dir)
    for key in ("train_loss", "dev_loss"):
        np.testing.assert_allclose([v[key] for v in two], [v[key] for v in one], rtol=RTOL)
    final_two = checkpoint_values(str(run_dir / "checkpoints" / "ckpt-8"))
    final_one = checkpoint_values(str(config.run_dir / "checkpoints" / "ckpt-8"))
    assert final_two.keys() == final_one.keys()
    gaps = [np.abs(final_two[k].astype(np.float64) - final_one[k]) for k in final_one]
    worst = max(float(np.max(gap)) for gap in gaps)
    assert worst < ATOL, worst


@pytest.mark.slow
def test_sigkill_the_chief_then_restart_resumes_every_worker(
    tiny_data: Path, tmp_path: Path
) -> None:
    """The chief is killed after its checkpoint at step 2 or later; the other worker exits on
    its own. Both started again resume from that checkpoint and stop together on the chief's
    time budget (0.6 s: tracing the first update takes longer, so after one or two updates;
    the other worker never looks at a clock). The export of the result translates.

    About a minute: two clusters of two worker processes each start TensorFlow, then the
    export."""
    run_dir = new_run(tiny_data, tmp_path)
    first = Cluster(tmp_path, sets("train.max_steps=40", "train.checkpoint_every=2"), "first")
    deadline = time.monotonic() + WAIT
    while latest_step(run_dir / "checkpoints") < 2:
        if time.monotonic() > deadline or any(p.poll() is not None for p in first.processes):
            first.kill()
            pytest.fail(f"no checkpoint at step 2:\n{first.tail()}")
        time.sleep(0.1)
    first.processes[0].send_signal(signal.SIGKILL)
    # The other worker notices the lost peer in its next collective operation and exits.
    assert first.wait(timeout=120)[1] == 1, first.tail()
    assert "lost the cluster" in first.logs[1].read_text()
    killed_at = latest_step(run_dir / "checkpoints")
    assert 2 <= killed_at < 40
    prefixes = {p.with_suffix("") for p in (run_dir / "checkpoints").glob("ckpt-*.index")}
    for prefix in prefixes:  # every checkpoint left behind is complete
        assert checkpoint_values(str(prefix))

    overrides = sets("train.max_steps=40", "train.checkpoint_every=2", "train.max_minutes=0.01")
    second = Cluster(tmp_path, overrides, "second")
    assert second.wait() == [0, 0], second.tail()
    for worker in range(2):
        assert second.lines(worker, "resumed from ")[0].endswith(f"at step {killed_at}")
    steps = [r["steps"] for r in second.results()]
    assert steps[0] == steps[1] in (killed_at + 1, killed_at + 2), (killed_at, steps)
    assert not any(second.scratch.iterdir())

    from core.saved_model import load_translate_fn
    from nmt import stages
    from nmt.config import load_config

    paths = (f"run_root={tmp_path / 'runs'}", f"export.base_dir={tmp_path / 'models'}")
    exported = stages.export(load_config(CONFIG, (*BASE, *paths)))
    assert load_translate_fn(exported)(["the black cats eat the fish ."])[0].strip()
