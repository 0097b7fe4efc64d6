"""How the command-line tools keep other libraries' logs off the terminal.

Users see the project's own messages and every warning or error that is theirs
to act on; ``--verbose`` (or ``TF_CPP_MIN_LOG_LEVEL=0`` for TensorFlow's native
logs) shows everything.

TensorFlow's C++ libraries log while they load and while they look for devices
(oneDNN and CUDA notices, on every CPU-only machine), before
``TF_CPP_MIN_LOG_LEVEL`` takes effect. The tools import TensorFlow through
``import_tensorflow``: when that level asks for warnings or less (2 or more, the
tools' default), file descriptor 2 points at ``/dev/null`` meanwhile. Python
errors raised inside are printed after it is restored; ``TF_CPP_MIN_LOG_LEVEL=0``
shows everything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

QUIET_LEVEL = 2
# Loggers of the project's packages: their INFO messages are for users.
PROJECT_LOGGERS = ("core", "nmt", "pipeline", "seq2seq", "serving")
LOG_FORMAT = "%(asctime)s %(name)s: %(message)s"


class _UsersMessages(logging.Filter):
    """The project's messages, and other libraries' warnings and errors, except Beam's
    import-time notices on the root logger (such as ``apitools not found``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] in PROJECT_LOGGERS:
            return True
        if record.name == "root" and "apache_beam" in record.pathname:
            return False
        return record.levelno >= logging.WARNING


def configure_logging(verbose: bool) -> None:
    """Log to standard error at INFO; unless ``verbose``, only what ``_UsersMessages`` lets
    through. ``verbose`` also asks TensorFlow for its native logs (``TF_CPP_MIN_LOG_LEVEL``
    0 unless set); otherwise they are off (3: fatal errors only, unless set)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "3")
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    if not verbose:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_UsersMessages())


def _quiet_wanted() -> bool:
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")
    return level.isdigit() and int(level) >= QUIET_LEVEL


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Inside the block, what native code writes to standard error is discarded (when
    ``TF_CPP_MIN_LOG_LEVEL`` is 2 or more; otherwise nothing changes)."""
    if not _quiet_wanted():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow() -> None:
    """Import TensorFlow and tensorflow-text and find the devices, in ``quiet_native_logs``."""
    with quiet_native_logs():
        import tensorflow as tf
        import tensorflow_text  # noqa: F401

        tf.config.list_physical_devices()
