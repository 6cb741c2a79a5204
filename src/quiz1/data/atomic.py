"""Write a file so that it is whole or absent: into a hidden partial file beside it, then ``os.replace``.

One helper for every output quiz1 writes (the built zip and HTML, figures, PNGs, the stand-in's cache, a class's
reports), so an interrupted or failed write never leaves a half-written file under the real name.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a partial path beside ``dest`` (same suffix, so writers that read the format from it work); on success it
    replaces ``dest``, on an exception it is removed."""
    dest = Path(dest)
    partial = dest.with_name(f".{dest.stem}.partial{dest.suffix}")
    try:
        yield partial
        os.replace(partial, dest)
    finally:
        if partial.exists():
            partial.unlink()


def write_text(dest: str | Path, text: str) -> None:
    """``dest.write_text(text)``, atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
