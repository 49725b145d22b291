"""Files: the one way mtcheck writes a file that others read (whole or not at all), and reads a JSON one."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

from mtcheck.core.errors import MtcheckError


def read_json(path: Path, what: str) -> object:
    """The JSON document in `path`, or MtcheckError with one line naming the file and the cause; `what` names
    the kind of file ("report", "decisions file") in the message."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MtcheckError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MtcheckError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise MtcheckError(f"{path}: not a {what} (invalid JSON at line {exc.lineno})") from None


def atomic_write(path: Path, content: str | bytes, like: Path | None = None) -> None:
    """Write beside the target, flush to disk, then rename: a reader (or a run after a crash or kill -9)
    sees the old file or the new one, never half of one. The file gets the permissions of `like` (a file
    rewritten in place) or those of any new file (0666 less the umask), not mkstemp's private 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content.encode("utf-8") if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IMODE(like.stat().st_mode) if like is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
