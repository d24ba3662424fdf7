"""Prefect log records that are not about the user's run, as logging filters."""

from __future__ import annotations

import logging


class ThreadTimeoutNoise(logging.Filter):
    """Prefect warns on every threaded task that has a timeout ("… running in a worker thread …"); the run summary
    reports real timeouts, so the warning is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "running in a worker thread" not in record.getMessage()
