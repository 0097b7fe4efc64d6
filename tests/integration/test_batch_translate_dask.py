"""Batch translation on Beam's Dask runner against a local ``dask.distributed`` cluster: the
same bytes as the local FnApiRunner, every chunk of every file, on the cluster's workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.batch_translate import TranslateSettings, run_translate
from tests.integration.conftest import DASK_RUNNER

# The slow tier (make test-all, CI): integration tests run servers, Dask clusters, real
# corpora or whole evaluations.
pytestmark = pytest.mark.slow

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install 'apache-beam[dask]')"
)

SENTENCE = "the black cats eat the fish . my sister will not open the red windows ."


def test_dask_runner_writes_the_bytes_of_the_local_runner(
    tiny_run: dict[str, Path], cluster: str, tmp_path: Path
) -> None:
    words = SENTENCE.split()
    lines = [" ".join(words[: n % 17]) for n in range(40)]  # every 17th line is empty
    (tmp_path / "a.txt").write_text("\n".join(lines[:23]) + "\n", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(("\n".join(lines[23:]) + "\n").encode() + b"\xff\n")
    inputs = (str(tmp_path / "*.txt"),)
    # Greedy, in chunks of 5 lines: 5 and 4 chunks, spread over the partitions.
    common = {"model": tiny_run["export_base"], "inputs": inputs, "chunk_lines": 5}
    common["options"] = {"beam_size": 1}
    local = run_translate(TranslateSettings(output=f"{tmp_path}/local/", **common))
    dask_args = (DASK_RUNNER, f"--dask_client_address={cluster}", "--dask_npartitions=4")
    settings = TranslateSettings(output=f"{tmp_path}/dask/", beam_args=dask_args, **common)
    with distributed.Client(cluster) as client:
        with distributed.get_task_stream(client=client) as tasks:
            on_dask = run_translate(settings)
        workers = set(client.scheduler_info()["workers"])
    assert {t["worker"] for t in tasks.data} & workers, "no task ran on the cluster's workers"
    assert on_dask["counters"] is None  # the Dask runner has no metrics
    assert on_dask["rejected"] == local["rejected"] == {"invalid_utf8": 1}
    for name in ("a.txt", "b.txt", "rejects.tsv"):
        expected = (tmp_path / "local" / name).read_bytes()
        assert (tmp_path / "dask" / name).read_bytes() == expected, name
    assert len((tmp_path / "dask" / "b.txt").read_bytes().split(b"\n")) == 19  # 18 lines
