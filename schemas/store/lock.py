"""One writer per dataset: an advisory lock whose file names the holder."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from schemas.store.errors import DatasetLocked, StoreError

LOCK_NAME = ".vidcot.lock"


class DatasetLock:
    """Exclusive lock on a dataset directory.

    The kernel releases it when the holder dies (even by SIGKILL), so a stale lock never blocks a resume.
    With `wait` > 0 a second writer waits that many seconds before giving up.
    """

    def __init__(self, root: Path, wait: float = 0.0) -> None:
        self.path = Path(root) / LOCK_NAME
        self.wait = wait
        self._fh: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._read_holder(fd)
                    os.close(fd)
                    raise DatasetLocked(
                        f"dataset {self.path.parent} is being written by {holder}; "
                        "wait for it to finish (or stop it) and run again"
                    ) from None
                time.sleep(0.2)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(sys.argv),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        except OSError as e:  # a full disk: say so rather than hold a lock that names nobody
            os.close(fd)
            raise StoreError(f"cannot write the lock file {self.path}: {e.strerror or e}") from None
        self._fh = fd

    @staticmethod
    def _read_holder(fd: int) -> str:
        try:
            info = json.loads(os.pread(fd, 4096, 0) or b"{}")
            return f"pid {info['pid']} on {info['host']} since {info['since']} ({info['command']})"
        except (ValueError, KeyError):
            return "another process"

    def release(self) -> None:
        if self._fh is not None:
            os.ftruncate(self._fh, 0)
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            os.close(self._fh)
            self._fh = None

    def __enter__(self) -> DatasetLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
