"""The data a submission is graded on: the TA's copy in place of the zip's, and a variant for a second run.

``place_ta_data`` puts the TA's quiz files (``--data``) and M (``--model``) where
the submission keeps them, before anything runs, and names each zip file that
differs from the quiz's: the references then come from the TA's files, so a
doctored ``I0.png`` or ``data.txt`` in a zip moves nothing. ``write_variant``
writes changed data with the same names, shapes and formats (Q1: other logits
and labels, a mean cross-entropy at least 20% away, in every file of the
submission holding the quiz file's bytes; Q6: I0 and I1 moved by a
pixel or two) for the metamorphic run: a value that does not follow the data
was not computed from it.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import numpy as np

from ..data.loaders import QUIZ_FILES, find_quiz_files, opened_input
from .layout import find_data_file

VARIANT_FILES = ("data.txt", "labels.txt", "I0.png", "I1.png")


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


def _shifted(im: np.ndarray, far: float) -> np.ndarray:
    """``im`` moved right and down by the fewest pixels (1 to 3) that put it at least ``far`` away (L2, [0, 1])."""
    for k in (1, 2, 3):
        out = np.zeros_like(im)
        out[k:, k:] = im[:-k, :-k]
        if np.linalg.norm((out.astype(float) - im) / 255) >= far:
            return out
    return out


def _replace_copies(root: Path, old: bytes, new: bytes, skip: Path) -> list[str]:
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


def write_variant(root: Path, seed: int = 0, far: float = 5.6) -> list[str]:
    """Overwrite the Q1 files and I0/I1 below ``root`` with variant data of the same names, shapes and formats;
    return the files changed (relative). ``far``: the least L2 ([0, 1] units) between an image and its variant."""
    from PIL import Image

    from ..data.loaders import load_image, load_q1
    from ..solvers.softmax_ce import softmax_cross_entropy

    rng = np.random.default_rng(seed)
    changed = []
    data, labels = find_data_file(root, "data.txt"), find_data_file(root, "labels.txt")
    if data is not None and labels is not None:
        try:
            q1 = load_q1(data, labels)
        except ValueError:
            q1 = None
        if q1 is not None:
            mean = softmax_cross_entropy(q1.logits, q1.labels).mean
            for _ in range(20):
                z = q1.logits[:, rng.permutation(q1.logits.shape[1])] * rng.uniform(0.6, 1.6)     # (N, M)
                y = q1.labels[rng.permutation(q1.labels.shape[0])]                               # (N, M)
                if abs(softmax_cross_entropy(z, y).mean - mean) >= 0.2 * max(abs(mean), 1e-9):
                    break
            integer = all(tok.lstrip("-").isdigit() for tok in labels.read_text().split()[:200])
            quiz = {p: p.read_bytes() for p in (data, labels)}
            np.savetxt(data, z)
            np.savetxt(labels, y, fmt="%d" if integer else "%.18e")
            changed += [p.relative_to(root).as_posix() for p in (data, labels)]
            for p, old in quiz.items():    # a student's own copy of the download (Quizz_data/Q1/data.txt) too
                changed += _replace_copies(root, old, p.read_bytes(), skip=p)
    for name in ("I0.png", "I1.png"):
        p = find_data_file(root, name)
        if p is None:
            continue
        try:
            im = load_image(p)
        except ValueError:
            continue
        Image.fromarray(_shifted(im, far), mode="L").save(p)
        changed.append(p.relative_to(root).as_posix())
    return changed
