"""The stand-in for the quiz's model.pth: trained once, seeded, and cached so a rebuild does not retrain.

Training data: the MNIST test split when a folder of IDX files is given (first
8,000 images to train, last 2,000 to validate: I0/I1 of the stand-in data are
taken from the validation part, never trained on), otherwise scikit-learn's
bundled digits upscaled to 28x28 (1,500 to train, the rest to validate).
The cache key is a hash of the training data and the training settings.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .atomic import atomic_path, write_text
from .loaders import load_mnist
from .standin import MNIST_HELDOUT_START, _digits_28

EPOCHS = 10


def cache_dir() -> Path:
    """$QUIZ1_CACHE, else $XDG_CACHE_HOME/quiz1, else ~/.cache/quiz1."""
    if os.environ.get("QUIZ1_CACHE"):
        return Path(os.environ["QUIZ1_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "quiz1"


def training_data(mnist_dir: str | Path | None):
    """(train_x, train_y, val_x, val_y, source sentence): uint8 (N, 28, 28) images and int labels."""
    if mnist_dir is not None:
        x, y = load_mnist(mnist_dir)
        n = MNIST_HELDOUT_START
        src = (f"the MNIST test split given with --mnist: images 0..{n - 1} for training, {n}..{len(x) - 1} for "
               "validation (the original training split is not available here)")
        return x[:n], y[:n], x[n:], y[n:], src
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.stack([_digits_28(im) for im in d.images])
    src = "scikit-learn's bundled 8x8 digits upscaled to 28x28 (no MNIST given): 1,500 to train, 297 to validate"
    return x[:1500], d.target[:1500], x[1500:], d.target[1500:], src


def wait_for_lock(lock) -> None:
    """Take the exclusive ``flock`` of the open file ``lock``, saying on stderr when another process holds it (it is
    training the same model: this one waits for it, then reads the cache, instead of waiting silently)."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    print(f"quiz1: waiting for another process that is training the stand-in model (lock {lock.name}); "
          "it is read from the cache when that one is done", file=sys.stderr, flush=True)
    fcntl.flock(lock, fcntl.LOCK_EX)


def ensure_standin_model(mnist_dir: str | Path | None = None, progress: bool = True) -> tuple[Path, dict]:
    """Path of a trained stand-in state_dict and its report (trained now unless cached)."""
    import torch
    from tqdm.auto import tqdm

    from ..solvers.mnist_model import RECIPE, train_standin

    tx, ty, vx, vy, src = training_data(mnist_dir)
    h = hashlib.sha256()
    for a in (tx, ty, vx, vy):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(f"epochs={EPOCHS};seed=0;torch={torch.__version__.split('+')[0]};{RECIPE}".encode())
    key = h.hexdigest()[:16]
    folder = cache_dir()
    pth, info = folder / f"standin-{key}.pth", folder / f"standin-{key}.json"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"standin-{key}.lock", "w") as lock:
        wait_for_lock(lock)  # two processes (pytest-xdist workers, two builds) train it once
        if pth.exists() and info.exists():  # the source sentence is today's (an old cache may name a folder)
            return pth, {**json.loads(info.read_text()), "source": src}
        bar = (lambda r: tqdm(r, desc="training stand-in model", unit="step")) if progress else None
        model, rep = train_standin(tx, ty, vx, vy, epochs=EPOCHS, source=src, progress=bar)
        with atomic_path(pth) as tmp:
            torch.save(model.state_dict(), tmp)
        report = {**asdict(rep), "cache_key": key}
        write_text(info, json.dumps(report, indent=2))
    return pth, report
