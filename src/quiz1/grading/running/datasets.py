"""The data a submission is graded on: the TA's copy in place of the zip's, and the helpers a question's variant data
is written with.

``place_ta_data`` puts the TA's quiz files (``--data``) and M (``--model``) where
the submission keeps them, before anything runs, and names each zip file that
differs from the quiz's: the references then come from the TA's files, so a
doctored ``I0.png`` or ``data.txt`` in a zip moves nothing. The variant data
for the second run is each question module's (its ``variant`` hook: other
logits and labels for Q1, other digits for Q6), written over every copy a
student kept (``replace_copies``, ``image_copies``).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import numpy as np

from ...data.loaders import QUIZ_FILES, find_quiz_files, opened_input
from .layout import find_data_file


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def data_fingerprint(data: str | Path | None, model: str | Path | None) -> dict:
    """What the verdicts are graded against, by content: {quiz file name: sha256} and M's sha256 (None: the zip's)."""
    out = {"data": None, "model": None}
    if data is not None:
        with opened_input(data) as root:
            out["data"] = {n: file_sha256(p) for n, p in sorted(find_quiz_files(root, optional={}).items())}
    if model is not None:
        out["model"] = file_sha256(Path(model))
    return out


def place_ta_data(root: Path, data_root: Path | None, model: Path | None) -> tuple[list[str], list[str]]:
    """Copy the TA's quiz files (found below ``data_root``) and ``model`` into the submission at ``root``, over the
    zip's copies; return (problems: each zip file that differed, warnings: what was graded against the zip's own)."""
    problems, warnings = [], []
    if data_root is None:
        warnings.append("graded against the zip's own data files (no --data): a doctored data file would move the "
                        "reference with it")
    else:
        for name, src in find_quiz_files(data_root, optional={}).items():
            problems += _put(root, name, src, "the quiz's")
    if model is None:
        warnings.append("Q6 judged by the zip's own Q_6/model.pth (no --model)")
    else:
        problems += _put(root, "model.pth", Path(model), "the TA's")
    return problems, warnings


def _put(root: Path, name: str, src: Path, whose: str) -> list[str]:
    there = find_data_file(root, name)
    dest = there if there is not None else root / QUIZ_FILES.get(name, "Q_6") / name
    problem = []
    if there is not None and (there.is_symlink() or not there.is_file() or file_sha256(there) != file_sha256(src)):
        problem = [f"{dest.relative_to(root).as_posix()} differs from {whose} copy; graded with {whose}"]
    if dest.is_symlink() or dest.is_dir():
        shutil.rmtree(dest) if dest.is_dir() and not dest.is_symlink() else dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return problem


def replace_copies(root: Path, old: bytes, new: bytes, skip: Path) -> list[str]:
    """Write ``new`` over every regular file below ``root`` (no symlink followed) whose bytes are ``old``, ``skip``
    aside; return them (relative)."""
    out = []
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for name in sorted(files):
            p = Path(folder) / name
            try:
                st = p.lstat()
                if p == skip or not stat.S_ISREG(st.st_mode) or st.st_size != len(old) or p.read_bytes() != old:
                    continue
                p.write_bytes(new)
            except OSError:
                continue
            out.append(p.relative_to(root).as_posix())
    return out


def image_copies(root: Path, path: Path, im: np.ndarray) -> list[Path]:
    """``path`` and every other regular PNG below ``root`` with its bytes or its 28x28 grey pixels ``im`` (a student's
    own copy of a quiz image), symbolic links not followed."""
    blob, out = path.read_bytes(), [path]
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for f in sorted(files):
            p = Path(folder) / f
            if p == path or not f.lower().endswith(".png") or p.is_symlink() or not p.is_file():
                continue
            try:
                if p.stat().st_size <= 1 << 16 and (p.read_bytes() == blob or np.array_equal(pixels(p), im)):
                    out.append(p)
            except OSError:
                continue
    return out


def pixels(p: Path) -> np.ndarray | None:
    """The pixels of a 28x28 8-bit grey PNG, else None (the size is read before anything is decoded)."""
    from PIL import Image

    try:
        with Image.open(p) as f:
            return np.asarray(f) if f.size == (28, 28) and f.mode == "L" else None
    except Exception:  # noqa: BLE001 -- whatever a student saved
        return None
