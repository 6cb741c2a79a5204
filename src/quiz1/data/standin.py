"""The embedded default data: a Quizz_data-style folder the tool makes itself.

Same file names, shapes and formats as the quiz, but other generators, so that
every question still has real work to do and nothing can pass by having the
quiz's numbers baked in:

* Q1: logits around 1500 with spread 25 (the quiz's are uniform in 900..1000).
* Q4: a rotated, off-centre ellipse (2D->1D), a tilted ellipsoid (3D->2D) and
  a circle times two free coordinates with shuffled axes (4D->3D).
* Q5: a smooth arc f(x) (the quiz's f is piecewise linear), ``ab`` shuffled.
* Q6: I0 and I1 from MNIST's held-out part when a folder of IDX files is given,
  otherwise from scikit-learn's bundled 8x8 digits, upscaled to MNIST's 20x20
  box in a 28x28 frame. ``digit_pool`` gives the other digits of the same
  source, labelled, for the grader's variant run (other digits of I0's and
  I1's classes).

Everything is seeded: the same call writes the same bytes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .loaders import load_mnist

#: first index of the MNIST test split that the stand-in model never trains on
MNIST_HELDOUT_START = 8000
STANDIN_DIGITS = (2, 8)  # I0 shows a 2, I1 an 8: neither is a target (1, 0, 7)


def _rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def make_q1(rng: np.random.Generator, n: int = 50, m: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``(n, m)`` around 1500 (naive exp overflows) and one-hot labels ``(n, m)``."""
    z = 1500.0 + 25.0 * rng.standard_normal((n, m))
    z[0, :3] = z[0, 3]  # a tie, to keep it honest
    y = np.eye(m)[rng.integers(0, m, n)]
    return z, y


def make_q4(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Three clouds: ellipse ``(100, 2)``, ellipsoid ``(10000, 3)``, circle x R^2 ``(8000, 4)``."""
    t = np.linspace(0, 2 * np.pi, 100, endpoint=False)
    ellipse = np.stack([2.0 * np.cos(t), 0.7 * np.sin(t)], 1) @ _rotation(rng, 2).T + [0.5, -1.5]

    u = rng.uniform(-1, 1, 10000)
    phi = rng.uniform(0, 2 * np.pi, 10000)
    s = np.sqrt(1 - u**2)
    sphere = np.stack([s * np.cos(phi), s * np.sin(phi), u], 1)
    ellipsoid = (sphere * [1.5, 1.0, 0.6]) @ _rotation(rng, 3).T + [1.0, -0.5, 2.0]

    th = rng.uniform(0, 2 * np.pi, 8000)
    a, b = rng.uniform(-1, 3, 8000), rng.uniform(0, 2, 8000)
    cyl = np.stack([0.8 * np.cos(th) - 1.0, a, 0.8 * np.sin(th) + 0.5, b], 1)  # circle in axes 0 and 2
    return {"Q1Q4I1.txt": ellipse, "Q1Q4I2.npz": ellipsoid, "Q1Q4I3.npz": cyl}


def make_q5(rng: np.random.Generator, n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """``xy (2, n)`` with y = 0 and ``ab (2, n)`` = a smooth arc f(x), each shuffled on its own."""
    x = np.linspace(-1.5, 2.5, n)
    ang = 0.7 * x + 0.3
    ab = np.stack([3.0 + 1.2 * np.cos(ang), 0.5 + 0.8 * np.sin(ang)])
    xy = np.stack([rng.permutation(x), np.zeros(n)])
    return xy, ab[:, rng.permutation(n)]


def _digits_28(image_8x8: np.ndarray) -> np.ndarray:
    """scikit-learn's 8x8 digit (0..16) as MNIST-like 28x28 uint8: 20x20 box, 4-pixel margin."""
    small = Image.fromarray((image_8x8 * (255.0 / 16.0)).astype(np.uint8))
    box = np.asarray(small.resize((20, 20), Image.BICUBIC))
    out = np.zeros((28, 28), np.uint8)
    out[4:24, 4:24] = box
    return out


def make_q6_images(mnist_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """I0, I1 ``(28, 28)`` uint8 and a sentence saying where they came from."""
    if mnist_dir is not None:
        images, labels = load_mnist(mnist_dir)
        picks = [int(MNIST_HELDOUT_START + np.flatnonzero(labels[MNIST_HELDOUT_START:] == d)[0]) for d in STANDIN_DIGITS]
        src = (f"MNIST test images #{picks[0]} (a {STANDIN_DIGITS[0]}) and #{picks[1]} (a {STANDIN_DIGITS[1]}) from the "
               f"MNIST test split given with --mnist, outside the first {MNIST_HELDOUT_START} used for training")
        return images[picks[0]], images[picks[1]], src
    from sklearn.datasets import load_digits  # ships its data: no download

    d = load_digits()
    picks = [int(np.flatnonzero(d.target == k)[0]) for k in STANDIN_DIGITS]
    src = (f"scikit-learn's bundled digits #{picks[0]} (a {STANDIN_DIGITS[0]}) and #{picks[1]} (a {STANDIN_DIGITS[1]}), "
           "upscaled from 8x8 to 28x28")
    return _digits_28(d.images[picks[0]]), _digits_28(d.images[picks[1]]), src


def digit_pool(mnist_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Labelled 28x28 digits to draw other images of a class from (the grader's variant I0/I1).

    Returns images ``(N, 28, 28)`` uint8, labels ``(N,)`` int, each image's number in its source ``(N,)`` and the
    source's name: MNIST's held-out test images (from ``MNIST_HELDOUT_START``, never trained on by the stand-in) when
    ``mnist_dir`` is given, else scikit-learn's bundled digits upscaled as ``make_q6_images`` upscales them.
    """
    if mnist_dir is not None:
        images, labels = load_mnist(mnist_dir)
        return (images[MNIST_HELDOUT_START:], labels[MNIST_HELDOUT_START:],
                np.arange(MNIST_HELDOUT_START, len(images)), "MNIST test image")
    from sklearn.datasets import load_digits  # ships its data: no download

    d = load_digits()
    return (np.stack([_digits_28(im) for im in d.images]), d.target.astype(np.int64), np.arange(len(d.images)),
            "scikit-learn digit")


def write_standin(out_dir: str | Path, mnist_dir: str | Path | None = None, seed: int = 0) -> str:
    """Write a complete Quizz_data-style folder into ``out_dir``; return where I0/I1 came from."""
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    z, y = make_q1(rng)
    clouds = make_q4(rng)
    xy, ab = make_q5(rng)
    i0, i1, src = make_q6_images(mnist_dir)
    for sub in ("Q1", "Q4", "Q5", "Q6"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    np.savetxt(out / "Q1" / "data.txt", z)
    np.savetxt(out / "Q1" / "labels.txt", y, fmt="%d")
    np.savetxt(out / "Q4" / "Q1Q4I1.txt", clouds["Q1Q4I1.txt"])
    for name in ("Q1Q4I2.npz", "Q1Q4I3.npz"):
        np.savez(out / "Q4" / name, array1=clouds[name])
    np.savez(out / "Q5" / "xy.npz", xy)
    np.savez(out / "Q5" / "ab.npz", ab)
    Image.fromarray(i0).save(out / "Q6" / "I0.png")
    Image.fromarray(i1).save(out / "Q6" / "I1.png")
    return src
