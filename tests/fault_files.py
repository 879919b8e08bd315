"""Files that fail the way disks do, for the recording's tests."""

from __future__ import annotations

import errno
import io
import os


class FullDisk(io.BytesIO):
    """A file that takes ``room`` bytes, then writes part of what it is given and fails as a full disk does.

    ``kept`` holds what it had when closed.
    """

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room
        self.kept = b""

    def write(self, data) -> int:
        space = self.room - self.tell()
        if len(data) > space:
            super().write(bytes(data[:max(space, 0)]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)

    def close(self) -> None:
        self.kept = self.getvalue()
        super().close()
