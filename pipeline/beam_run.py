"""Running a Beam pipeline to completion on whatever runner its options name."""

from __future__ import annotations

import logging
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from core.config_fields import ConfigError


def run_pipeline(
    options: PipelineOptions, build: Any, *args: Any
) -> beam.runners.runner.PipelineResult:
    """Builds the pipeline with ``build(p, *args)``, runs it to completion and returns its
    result; disconnects runners' clients (Dask). ``ConfigError`` if Beam refuses the options
    (an unknown runner, or one whose extra is not installed)."""
    try:
        p = beam.Pipeline(options=options)
    except (ValueError, ImportError) as err:
        raise ConfigError(f"Beam pipeline options: {err}") from None
    build(p, *args)
    # A failing step's exception reaches the caller; Beam's log of it would repeat it.
    step_errors = logging.getLogger("apache_beam.runners.common")
    step_errors.addFilter(_without_traceback)
    try:
        result = p.run()
        try:
            result.wait_until_finish()
        finally:
            client = getattr(result, "client", None)
            if client is not None:
                client.close()
    finally:
        step_errors.removeFilter(_without_traceback)
    return result


def _without_traceback(record: logging.LogRecord) -> bool:
    return record.exc_info is None and "Traceback" not in record.getMessage()


def os_error_in(err: BaseException) -> OSError | None:
    """``err`` or the error it wraps (Beam re-raises a step's error as its cause), if an OSError."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
