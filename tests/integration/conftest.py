"""A local ``dask.distributed`` cluster for the tests of Beam's Dask runner."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

DASK_RUNNER = "--runner=apache_beam.runners.dask.dask_runner.DaskRunner"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two worker processes on 127.0.0.1; yields the scheduler address.

    Leaving the ``with`` block closes the workers, then the scheduler. Skips when
    dask.distributed is not installed.
    """
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install 'apache-beam[dask]')"
    )
    logging.getLogger("distributed").setLevel(logging.WARNING)
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        local_directory=str(tmp_path_factory.mktemp("dask-workers")),
    ) as local:
        yield local.scheduler_address
