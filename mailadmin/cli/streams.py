"""The streams a command writes to, guarded so the error boundary can tell output trouble apart.

stdout may be closed (`>&-`), full (`/dev/full`) or gone (`| head -1`). A write that fails there
raises `OutputFailed`, so the boundary decides the exit status from what the command did (a
committed change is never reported as a failure) rather than from the print. Messages on stderr
are best effort: a closed or full stderr never turns a result into an error.
"""

from __future__ import annotations

import errno
from typing import Any, TextIO


class OutputFailed(Exception):
    """Writing the data to stdout failed; `error` says why (EPIPE, EBADF, ENOSPC...)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error

    @property
    def reader_gone(self) -> bool:
        return isinstance(self.error, BrokenPipeError) or self.error.errno == errno.EPIPE


class _Closed:
    """What a closed standard stream is (Python sets it to None): every write fails as EBADF."""

    encoding = "utf-8"

    def write(self, _text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


class DataStream:
    """stdout for data: OSErrors become OutputFailed."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream: Any = stream if stream is not None else _Closed()

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise OutputFailed(exc) from exc

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise OutputFailed(exc) from exc
        except ValueError:  # flushing a file already closed
            pass

    def isatty(self) -> bool:
        try:
            return self._stream.isatty()
        except (AttributeError, OSError, ValueError):
            return False

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, ... as the real stream has them
        return getattr(self._stream, name)


class MessageStream(DataStream):
    """stderr for messages: a failed write is dropped (there is nowhere left to say it)."""

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass
