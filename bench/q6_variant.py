"""Q6's variant run: how honest attacks fare on other digits of a class, and how alike their changes are.

The variant run replaces I0 and I1 with other digits of their classes (``questions.q6.draw_digits``, Q6's ``variant``) and asks that
the notebook's images for them be read by M as the target within L2 2.8, and that their change not be the first
run's change again (cosine under ``questions.q6.SAME_CHANGE``: a perturbation made beforehand and added to whatever image
is loaded gives a cosine of 1 over the pixels neither image clips). This prints, for M (the stand-in trained on
``MNIST_DIR``, from quiz1's cache) and digits of each class drawn as the grader draws them:

* how often two attacks a student writes (targeted PGD-L2 in a 2.5 ball, a C&W-style penalty) reach the target on a
  digit, and the L2 of their 8-bit images;
* the cosine between the changes one attack makes to two different digits of a class (what an honest notebook
  shows between its two runs), its largest value against the bar, and the cosine of a change added as it is;
* the seconds ``draw_digits`` takes (what the variant costs the grader per zip, before the notebook runs).

Usage: ``python bench/q6_variant.py MNIST_DIR [--digits N] [--classes 2:1,8:7,7:1,1:7]``
"""
from __future__ import annotations

import argparse
import itertools
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from quiz1.data.standin import digit_pool, write_standin
from quiz1.data.standin_model import ensure_standin_model
from quiz1.grading.questions.q6 import L2_MOST, SAME_CHANGE, _same_change, draw_digits
from quiz1.solvers.mnist_model import load_model


def pgd(model, img, target, eps=2.5, alpha=0.1, iters=200):
    """A student's targeted PGD-L2 on cross-entropy, stopping at the first 8-bit image read as the target."""
    x = torch.tensor(img / 255.0, dtype=torch.float32).view(1, 1, 28, 28)
    d = torch.zeros_like(x, requires_grad=True)
    adv = x
    for _ in range(iters):
        loss = torch.nn.functional.cross_entropy(model(x + d), torch.tensor([target]))
        (g,) = torch.autograd.grad(loss, d)
        with torch.no_grad():
            d -= alpha * g / (g.norm() + 1e-12)
            d.copy_((x + d).clamp(0, 1) - x)
            d *= min(1.0, eps / float(d.norm() + 1e-12))
            adv = torch.round((x + d) * 255) / 255
            if int(model(adv).argmax(1)) == target:
                break
    return (adv[0, 0] * 255).round().numpy().astype(np.uint8)


def cw(model, img, target, c=5.0, kappa=1.0, steps=300, lr=0.02):
    """A student's C&W-style attack: Adam on ||d||^2 + c max(max_j!=t z_j - z_t, -kappa), the smallest 8-bit hit kept."""
    x = torch.tensor(img / 255.0, dtype=torch.float32).view(1, 1, 28, 28)
    d = torch.zeros_like(x, requires_grad=True)
    opt = torch.optim.Adam([d], lr=lr)
    best, best_l2 = (x[0, 0] * 255).round().numpy().astype(np.uint8), np.inf
    for _ in range(steps):
        adv = (x + d).clamp(0, 1)
        z = model(adv)[0]
        other = torch.cat([z[:target], z[target + 1:]]).max()
        loss = (d ** 2).sum() + c * torch.clamp(other - z[target], min=-kappa)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            q = torch.round((x + d).clamp(0, 1) * 255) / 255
            l2 = float((q - x).norm())
            if l2 < best_l2 and int(model(q).argmax(1)) == target:
                best, best_l2 = (q[0, 0] * 255).round().numpy().astype(np.uint8), l2
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mnist_dir")
    ap.add_argument("--digits", type=int, default=8, help="digits of each class (default 8)")
    ap.add_argument("--classes", default="2:1,8:7,7:1,1:7", help="class:target pairs (default the stand-in's and "
                    "the quiz's: 2:1,8:7,7:1,1:7)")
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    path, _ = ensure_standin_model(args.mnist_dir, progress=False)
    model = load_model(path)
    for p in model.parameters():
        p.requires_grad_(False)
    images, labels, _, _ = digit_pool(args.mnist_dir)
    with torch.no_grad():
        reads = model(torch.tensor(images, dtype=torch.float32)[:, None] / 255).argmax(1).numpy()
    rng = np.random.default_rng(0)
    print(f"bar: cosine >= {SAME_CHANGE:g} is a change made beforehand; L2 <= {L2_MOST:g} in [0, 1] units")
    print(f"{'class->t':>8} {'attack':>6} {'hit':>5} {'L2 med':>7} {'L2 max':>7} {'over':>4} "
          f"{'cos med':>7} {'cos max':>7} {'added':>6} {'s/img':>6}")
    for pair in args.classes.split(","):
        cls, target = (int(v) for v in pair.split(":"))
        idx = rng.choice(np.flatnonzero((labels == cls) & (reads == cls)), args.digits, replace=False)
        for name, fn in (("pgd", pgd), ("cw", cw)):
            t0 = time.perf_counter()
            adv = [fn(model, images[i], target) for i in idx]
            secs = (time.perf_counter() - t0) / len(idx)
            with torch.no_grad():
                hit = [int(model(torch.tensor(a / 255.0, dtype=torch.float32)[None, None]).argmax(1)) == target
                       for a in adv]
            l2 = np.array([np.linalg.norm((a.astype(float) - images[i]) / 255) for a, i in zip(adv, idx)])
            cos = [_same_change(adv[a], images[idx[a]], adv[b], images[idx[b]])
                   for a, b in itertools.permutations(range(len(idx)), 2) if hit[a] and hit[b]]
            cos = np.array([c for c in cos if c is not None] or [np.nan])
            added = [_same_change(adv[a], images[idx[a]], np.clip(images[idx[b]].astype(int) + adv[a] - images[idx[a]],
                                                                   0, 255).astype(np.uint8), images[idx[b]])
                     for a, b in itertools.permutations(range(len(idx)), 2) if hit[a]]
            added = [c for c in added if c is not None]
            print(f"{cls:>4}->{target:<3} {name:>6} {sum(hit):>2}/{len(hit):<2} {np.median(l2):>7.3f} {l2.max():>7.3f} "
                  f"{int((l2 > L2_MOST).sum()):>4} {np.nanmedian(cos):>7.3f} {np.nanmax(cos):>7.3f} "
                  f"{min(added) if added else float('nan'):>6.3f} {secs:>6.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        write_standin(Path(tmp) / "data", mnist_dir=args.mnist_dir)
        secs = []
        for seed in range(3):
            shutil.copytree(Path(tmp) / "data", Path(tmp) / f"v{seed}")
            t0 = time.perf_counter()
            draw_digits(Path(tmp) / f"v{seed}", model, seed, mnist=args.mnist_dir)
            secs.append(time.perf_counter() - t0)
    print(f"draw_digits: {', '.join(f'{s:.1f}' for s in secs)} s (3 draws, MNIST pool, this machine)")


if __name__ == "__main__":
    main()
