"""Writing a file so that a reader never sees half of it: the text goes to a temporary file beside it, which then
replaces it in one rename (the reloader, another `monitor` process or a second worker may be reading)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """`path` holds `text` (UTF-8), whole or not at all; `mode`: the new file's permission bits (else mkstemp's
    0600). OSError as from any write; the temporary file is removed then."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        if mode is not None:
            Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
