"""The preprocessing stage on Beam's Dask runner against a local ``dask.distributed`` cluster.

One scheduler and two worker processes on 127.0.0.1, started and torn down by
the test; every output must equal the local FnApiRunner's, byte for byte.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline import readers
from pipeline.config import (
    CleaningConfig,
    InputConfig,
    PreprocessConfig,
    SentencePieceConfig,
    SplitConfig,
)
from pipeline.preprocess import run_preprocess
from tests.integration.conftest import DASK_RUNNER

# The slow tier (make test-all, CI): integration tests run servers, Dask clusters, real
# corpora or whole evaluations.
pytestmark = pytest.mark.slow

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install 'apache-beam[dask]')"
)

DEFECTS = b"one\tuno\nsolo\nbad \xc3\tmalo\nthe cat\tel gato\nthe cat\tel gato\nsame\tsame\n"


def _config(tmp: Path) -> PreprocessConfig:
    (tmp / "defects.tsv").write_bytes(DEFECTS)
    return PreprocessConfig(
        source_lang="en",
        target_lang="es",
        inputs=(
            InputConfig(name="sample", format="sample", pairs=400, seed=5),
            InputConfig(name="defects", format="tsv", path=str(tmp / "defects.tsv")),
        ),
        cleaning=CleaningConfig(max_tokens=30),
        split=SplitConfig(dev_fraction=0.1, test_fraction=0.1),
        sentencepiece=SentencePieceConfig(vocab_size=150),
        num_shards=3,
        shuffle_buckets=3,
    )


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).parts[0].startswith(("corpus", "."))
    }


def _run_on_dask(config: PreprocessConfig, address: str, out: Path) -> tuple[dict, set[str]]:
    """Runs the stage on the cluster; returns its stats and the workers that ran tasks."""
    dask_args = (DASK_RUNNER, f"--dask_client_address={address}", "--dask_npartitions=4")
    with distributed.Client(address) as client:
        with distributed.get_task_stream(client=client) as tasks:
            stats = run_preprocess(dataclasses.replace(config, beam_args=dask_args), out)
        workers = set(client.scheduler_info()["workers"])
    return stats, {t["worker"] for t in tasks.data} & workers


def test_dask_runner_outputs_equal_the_local_runner(
    tmp_path: Path, cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "CHUNK_LINES", 100)  # several reading tasks to spread
    config = _config(tmp_path)
    local = run_preprocess(config, tmp_path / "local")
    on_dask, workers = _run_on_dask(config, cluster, tmp_path / "dask")
    assert workers, "no task ran on the cluster's workers"
    assert on_dask == local
    assert local["corpora"]["defects"]["rejected"] == 4
    local_files, dask_files = _files(tmp_path / "local"), _files(tmp_path / "dask")
    assert "tfrecords/train-00002-of-00003.tfrecord" in local_files
    assert sorted(dask_files) == sorted(local_files)
    for name, data in local_files.items():
        assert dask_files[name] == data, name
