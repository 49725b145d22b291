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


def usable_output_folder(out: Path, inputs: list[Path] | None = None) -> Path:
    """Check, before any model loads, that `out` can take a run's outputs, that is: not a file, writable,
    not one of the input folders and not around one (a run would read its own outputs as input on the next
    run). An output folder inside an input folder is fine: the walk over the inputs skips it (`walk(exclude=)`).
    Returns `out`; MtcheckError with one line otherwise."""
    if out.exists() and not out.is_dir():
        raise MtcheckError(f"--out {out}: exists and is not a folder")
    real = out.resolve()
    for given in inputs or []:
        if not given.exists():
            continue
        inside = given.resolve()
        if inside == real:
            raise MtcheckError(
                f"--out {out} is the input folder: the next run would read its own outputs; choose another folder"
            )
        if real in inside.parents:
            raise MtcheckError(f"--out {out} holds the input {given}: its outputs could overwrite it; choose another")
    # nothing is created here (a run that fails later, a model not installed, leaves no empty folder behind)
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise MtcheckError(f"--out {out}: cannot write there: {existing} is not a folder")
    if existing == out:
        try:
            probe = tempfile.NamedTemporaryFile(prefix=".mtcheck-probe.", dir=out)  # noqa: SIM115 - closed below
            probe.close()
        except OSError as exc:
            raise MtcheckError(f"--out {out}: cannot write there: {exc.strerror or exc}") from None
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise MtcheckError(f"--out {out}: cannot write there: {existing} is not writable")
    return out


def usable_output_file(out: Path) -> Path:
    """Check that the file `out` can be written (its folder exists and takes files; it is not a folder)."""
    if out.is_dir():
        raise MtcheckError(f"--out {out}: is a folder, not a file")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise MtcheckError(f"--out {out}: no such folder {parent}")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise MtcheckError(f"--out {out}: cannot write there: permission denied")
    return out
