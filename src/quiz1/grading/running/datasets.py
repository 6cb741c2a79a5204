"""The data a submission is graded on: the TA's copy in place of the zip's, and a variant for a second run.

``place_ta_data`` puts the TA's quiz files (``--data``) and M (``--model``) where
the submission keeps them, before anything runs, and names each zip file that
differs from the quiz's: the references then come from the TA's files, so a
doctored ``I0.png`` or ``data.txt`` in a zip moves nothing. ``write_variant``
writes changed data with the same names, shapes and formats (Q1: other logits
and labels, a mean cross-entropy at least 20% away, in every file of the
submission holding the quiz file's bytes) and ``write_q6_variant`` other
digits of I0's and I1's classes, drawn at random by the grader, for the
metamorphic run: a value that does not follow the data was not computed from
it, and an attack that only works on the quiz's own images was not run.
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


def write_variant(root: Path, seed: int = 0) -> list[str]:
    """Overwrite the Q1 files below ``root`` with variant data of the same names, shapes and formats; return the
    files changed (relative). (I0 and I1: ``write_q6_variant``.)"""
    from ...data.loaders import load_q1
    from ...solvers.softmax_ce import softmax_cross_entropy

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
    return changed


Q6_TARGETS = {"I0": (1,), "I1": (7, 0)}   # what M must read I0' and I1' as (the quiz's eq. 7 and 8)
Q6_SAMPLE = 256    # pool digits M reads for one variant: about 25 of each class to draw from
Q6_TIER_MIN = 3    # a tier of candidates is drawn from when it holds at least this many
Q6_TRUST = 0.9     # M's accuracy on the sample at and above which its reading of I0/I1 names their class
Q6_CANDIDATES = 8   # digits of the class whose distance to M's decision boundary is measured, one drawn among them


def write_q6_variant(root: Path, model, seed: int, mnist: str | Path | None = None,
                     far: float = 5.6) -> tuple[list[str], dict]:
    """Overwrite I0.png and I1.png below ``root``, and every other PNG with their pixels, with other digits of the
    same classes drawn with ``seed``; return (the files changed (relative), {"I0"/"I1": where the new digit is from}).

    The digits come from ``digit_pool(mnist)`` (MNIST's held-out test images, else scikit-learn's digits), among a
    random sample of ``Q6_SAMPLE`` that M reads. The class of I_n is what M reads it as when M reads at least
    ``Q6_TRUST`` of the sample right (a trained M), else the label of I_n's nearest pool digit (L2: an untrained M
    reads every digit alike). A digit of that class that M reads as it reads I_n is drawn first (for a trained M:
    one it reads correctly), then any of the class; never one M already reads as a target of I_n, nor one within
    ``far`` of I_n (L2, [0, 1] units). Of ``Q6_CANDIDATES`` such digits, the one drawn is no farther from M's
    boundary to each target than I_n (``boundary_distance``), so an honest attack that reached the target on I_n
    within the bound reaches it on the new digit too. ``model``: M (None: no reading, the label alone decides).
    """
    from PIL import Image

    from ...data.loaders import load_image
    from ...data.standin import digit_pool
    from ...solvers.mnist_model import predict_proba

    quiz = {}
    for name in ("I0", "I1"):
        p = find_data_file(root, f"{name}.png")
        try:
            if p is not None:
                quiz[name] = (p, load_image(p))
        except ValueError:
            continue
    if not quiz:
        return [], {}
    rng = np.random.default_rng(seed)
    images, labels, numbers, kind = digit_pool(mnist)
    pick = rng.choice(len(images), min(Q6_SAMPLE, len(images)), replace=False)
    sample, sample_labels = images[pick], labels[pick]                              # (S, 28, 28), (S,)
    reads = None
    if model is not None:
        try:
            reads = predict_proba(model, np.concatenate([sample, np.stack([im for _, im in quiz.values()])])).argmax(1)
        except Exception:  # noqa: BLE001 -- an M that cannot read digits: the class alone decides
            reads = None
    pool = images.reshape(len(images), -1).astype(np.float64) / 255                 # (N, 784)
    flat = sample.reshape(len(sample), -1).astype(np.float64) / 255                 # (S, 784)
    # M reads digits well (a trained M): the class of I_n is what M reads it as; else what it shows (nearest digit)
    trusted = reads is not None and float((reads[:len(sample)] == sample_labels).mean()) >= Q6_TRUST
    changed, where = [], {}
    for j, (name, (path, im)) in enumerate(quiz.items()):
        x = im.reshape(-1).astype(np.float64) / 255                                 # (784,)
        ok = np.sqrt(((flat - x) ** 2).sum(1)) >= far                              # (S,)
        label = int(labels[((pool - x) ** 2).sum(1).argmin()])
        tiers = [ok & (sample_labels == label)]
        if reads is not None:
            r, got = int(reads[len(sample) + j]), reads[:len(sample)]
            label = r if trusted else label
            ok &= ~np.isin(got, Q6_TARGETS[name])
            tiers = [ok & (sample_labels == label) & (got == r), ok & (sample_labels == label)]
        tiers.append(ok)
        tier = next((t for t in tiers if t.sum() >= Q6_TIER_MIN), next((t for t in tiers if t.any()), None))
        if tier is None:
            continue
        cands = rng.permutation(np.flatnonzero(tier))[:Q6_CANDIDATES]
        if reads is not None:    # no harder for M than I_n itself: an attack that reached the target there can here
            try:
                cands = _no_harder(model, sample[cands], im, Q6_TARGETS[name], cands)
            except Exception:  # noqa: BLE001 -- an M without gradients: any of the class
                pass
        k = int(rng.choice(cands))
        new = sample[k]
        for p in _copies(root, path, im):
            Image.fromarray(new, mode="L").save(p)
            changed.append(p.relative_to(root).as_posix())
        where[name] = (f"another {int(sample_labels[k])} ({kind} #{int(numbers[pick[k]])}"
                       + (f", read by M as {int(reads[k])})" if reads is not None else ")"))
    return changed, where


def _copies(root: Path, path: Path, im: np.ndarray) -> list[Path]:
    """``path`` and every other regular PNG below ``root`` with its bytes or its 28x28 grey pixels (a student's own
    copy of the quiz's image), symbolic links not followed."""
    import os

    blob, out = path.read_bytes(), [path]
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for f in sorted(files):
            p = Path(folder) / f
            if p == path or not f.lower().endswith(".png") or p.is_symlink() or not p.is_file():
                continue
            try:
                if p.stat().st_size <= 1 << 16 and (p.read_bytes() == blob or np.array_equal(_pixels(p), im)):
                    out.append(p)
            except OSError:
                continue
    return out


def _pixels(p: Path) -> np.ndarray | None:
    """The pixels of a 28x28 8-bit grey PNG, else None (the size is read before anything is decoded)."""
    from PIL import Image

    try:
        with Image.open(p) as f:
            return np.asarray(f) if f.size == (28, 28) and f.mode == "L" else None
    except Exception:  # noqa: BLE001 -- whatever a student saved
        return None


def _no_harder(model, images, image, targets, ids) -> np.ndarray:
    """The ``ids`` of ``images`` (K, 28, 28) no farther than ``image`` from M's boundary to any of ``targets``; if
    none is, the one nearest in the worst target (ratio to ``image``'s distance)."""
    batch = np.concatenate([np.stack([image]), images])                               # (1 + K, 28, 28)
    ratio = np.zeros(len(images))
    for t in targets:
        d = boundary_distance(model, batch, t)                                       # (1 + K,)
        ratio = np.maximum(ratio, d[1:] / d[0] if np.isfinite(d[0]) and d[0] > 0 else np.zeros(len(images)))
    keep = ratio <= 1
    return ids[keep] if keep.any() else ids[[int(ratio.argmin())]]


def boundary_distance(model, images_u8, target: int, steps: int = 12, overshoot: float = 0.02) -> np.ndarray:
    """L2 distance ([0, 1] units) from each image to where M reads it as ``target``, by targeted DeepFool
    (Moosavi-Dezfooli et al. 2016): a linearised step to the nearest competitor's boundary, repeated; inf where
    ``steps`` do not reach it. An upper bound on the smallest change, close to it, at a few forward and backward
    passes; written here (no attack library is a dependency) because only the distance is needed.

    x <- clip(x + (1 + overshoot) (f + 1e-4) / ||grad f||^2 (-grad f), 0, 1),  f = max_{j != t} z_j - z_t

    Parameters
    ----------
    images_u8 : ndarray, shape (B, 28, 28), uint8
    """
    import torch

    x0 = torch.tensor(np.asarray(images_u8), dtype=torch.float32)[:, None] / 255       # (B, 1, 28, 28)
    x = x0.clone()
    dist = torch.full((len(x),), float("inf"))                                         # (B,)
    done = torch.zeros(len(x), dtype=torch.bool)
    for _ in range(steps + 1):
        x.requires_grad_(True)
        z = model(x)                                                                   # (B, 10)
        hit = (z.argmax(1) == target) & ~done
        dist[hit] = (x.detach() - x0).flatten(1).norm(dim=1)[hit]
        done |= hit
        if bool(done.all()):
            break
        other = z.clone()
        other[:, target] = -float("inf")
        f = other.max(1).values - z[:, target]                                          # (B,) > 0 until reached
        (g,) = torch.autograd.grad(f.sum(), x)                                         # (B, 1, 28, 28)
        with torch.no_grad():
            step = (1 + overshoot) * (f + 1e-4) / g.flatten(1).norm(dim=1).clamp_min(1e-12) ** 2    # (B,)
            moved = (x - step[:, None, None, None] * g).clamp(0, 1)
            x = torch.where(done[:, None, None, None], x, moved)
    return dist.numpy()
