"""Files a person points FaceSeal at (a photo, a video, an embedding, a recovery kit): regular files of bounded size.

A FIFO or a device (``/dev/zero``) would never end, a folder is no file, and
a huge file would exhaust memory before anything could judge it. So a file is
opened without blocking (a FIFO would wait for a writer forever), checked with
``fstat`` on the opened descriptor (what is read is what was checked), and
refused over its cap before a byte is read; each refusal is one line in the
caller's own error class.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from edge_core.errors import FaceSealError


def size_text(count: int) -> str:
    """A byte count for a person: ``64 KiB``, ``16 MiB``."""
    return f"{count / 2**20:.0f} MiB" if count >= 2**20 else f"{count / 2**10:.0f} KiB"


def regular_file(path: Path, error: type[FaceSealError]) -> os.stat_result:
    """``path``'s status if it is a regular file (checked before a long job opens it), else ``error``."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path} does not exist") from None
    except OSError as failure:
        raise error(f"{path} cannot be read ({failure.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path} is not a regular file")
    return info


@contextmanager
def open_regular(path: Path, limit: int, error: type[FaceSealError], what: str) -> Iterator[BinaryIO]:
    """``path`` opened for reading if it is a regular file of at most ``limit`` bytes, else ``error``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise error(f"{path} does not exist") from None
    except OSError as failure:
        raise error(f"{path} cannot be read ({failure.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # checked before fdopen, which refuses a folder with its own error
        os.close(fd)
        raise error(f"{path} is {'a folder' if stat.S_ISDIR(info.st_mode) else 'not a regular file'}, not {what}")
    with os.fdopen(fd, "rb") as file:
        if info.st_size > limit:
            raise error(f"{path} is {size_text(info.st_size)}; {what} is at most {size_text(limit)}")
        yield file


def read_regular(path: Path, limit: int, error: type[FaceSealError], what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (also if it grows while read), else ``error``."""
    with open_regular(path, limit, error, what) as file:
        try:
            data = file.read(limit + 1)
        except OSError as failure:
            raise error(f"{path} cannot be read ({failure.strerror})") from None
    if len(data) > limit:
        raise error(f"{path} is over {size_text(limit)}; {what} is at most {size_text(limit)}")
    return data
