"""One writer per dataset: an advisory lock whose file names the holder."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import stat
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
        fd = self._open()
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

    def _open(self) -> int:
        """Open (creating) the lock file itself, never what a link there points at: a symbolic link, or anything
        but a plain file, in its place is refused and left alone (opening it for writing would truncate its target).
        """
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o644)
        except OSError as e:
            if self.path.is_symlink():
                raise StoreError(
                    f"the lock file {self.path} is a symbolic link; refusing to follow it (remove the link and run "
                    "again)"
                ) from None
            raise StoreError(f"cannot open the lock file {self.path}: {e.strerror or e}") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:  # a hard link would share its bytes with another file
            os.close(fd)
            raise StoreError(f"the lock file {self.path} is not a plain file of its own; remove it and run again")
        return fd

    @staticmethod
    def _read_holder(fd: int) -> str:
        try:
            info = json.loads(os.pread(fd, 4096, 0) or b"{}")
            return f"pid {info['pid']} on {info['host']} since {info['since']} ({info['command']})"
        except (ValueError, KeyError):
            return "another process"

    def ensure_free(self) -> None:
        """Raise DatasetLocked (or StoreError for a lock file that is a link) now if another writer holds the
        dataset, so a command can refuse before its slow start-up; it takes the lock for an instant only."""
        if not self.path.parent.is_dir():
            return
        self.acquire()
        self.release()

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
