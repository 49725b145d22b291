"""Opening inputs: the one place where mtcheck reads the bytes of an input file (`check`, `gate`, `--lines`,
`apply`'s source). Whatever stands at a path, the answer is its bytes or an `InputError` with a one-line cause:
never a hang on a FIFO or a device, never a silent skip of a broken link, never a file read whole into memory
past `MAX_INPUT_BYTES`."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from mtcheck.core.errors import InputError

MAX_INPUT_BYTES = 100 * 2**20  # an article file or a feed file; a larger one is refused, not read
_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a folder",
}


def shown(path: str | Path) -> str:
    """A path as it may appear in a one-line message: control characters (a newline in a file name) escaped."""
    text = str(path)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def why_unreadable(path: Path) -> str | None:
    """Why `path` is not a regular file that can be opened (None when it is one): missing, a broken or looping
    symbolic link, a folder, a FIFO, a device."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            return f"broken symbolic link (to {shown(os.readlink(path))})"
        return "no such file or folder"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if exc.errno == errno.ENAMETOOLONG:
            return "file name too long"
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(st.st_mode):
        return f"not a regular file ({_KINDS.get(stat.S_IFMT(st.st_mode), 'special file')})"
    return None


def read_input(path: Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file at `path`; InputError (naming the path) for anything else."""
    where = shown(path)
    why = why_unreadable(path)
    if why is not None:
        raise InputError(where, why)
    try:
        # non-blocking: a FIFO swapped in after the check above must not hang the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except PermissionError:
        raise InputError(where, "cannot read: permission denied") from None
    except OSError as exc:
        raise InputError(where, f"cannot read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(where, "not a regular file")
        if st.st_size > limit:
            raise InputError(where, f"too large: {st.st_size / 2**20:.0f} MB (inputs are limited to {limit >> 20} MB)")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:  # grew while being read
                raise InputError(where, f"too large: over {limit >> 20} MB (inputs are limited to {limit >> 20} MB)")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(where, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
