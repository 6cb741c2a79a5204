"""Q6 stand-in benchmark: how the stand-in's two bars vary with the training seed.

The quiz's model.pth is not available, so quiz1 trains a stand-in (``train_standin``). Two bars depend on how it
is trained: at least 99.0% validation accuracy (issue #7) and, for eq. (7)/(8) read literally, p_t >= 0.99 inside
the L2 ball of 2.8 ([0, 1] units, a per-pixel RMS of 0.1) on the quiz's three cases (issue #15). Training is not
bit-identical across machines, so one seed's result proves little: this trains the recipe with several seeds and
prints, per seed, the training and validation accuracy, the seconds, and p_t reached by ``attack(eps=2.8)`` (after
8-bit rounding, judged by M) for I0 -> 1, I1 -> 0, I1 -> 7.
Run: .venv/bin/python bench/q6_standin.py MNIST_DIR QUIZ_DATA_DIR [--seeds 0 1 2 3] [--epochs N]
"""
import argparse

import torch

from quiz1.data.loaders import load_image
from quiz1.data.standin_model import EPOCHS, training_data
from quiz1.solvers.adversarial import attack
from quiz1.solvers.mnist_model import RECIPE, predict_proba, train_standin


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mnist_dir"), ap.add_argument("quiz_dir")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs (default: quiz1's {EPOCHS})")
    args = ap.parse_args()
    tx, ty, vx, vy, _ = training_data(args.mnist_dir)
    i0, i1 = (load_image(f"{args.quiz_dir}/Q6/{n}.png") for n in ("I0", "I1"))
    cases = [("I0->1", i0, 1), ("I1->0", i1, 0), ("I1->7", i1, 7)]
    print(f"recipe: {RECIPE}; {args.epochs} epochs; {torch.get_num_threads()} threads")
    print(f"{'seed':>4} {'train acc':>9} {'val acc':>8} {'s':>5} " + " ".join(f"{c:>7}" for c, _, _ in cases)
          + "  both bars")
    for seed in args.seeds:
        model, rep = train_standin(tx, ty, vx, vy, epochs=args.epochs, seed=seed)
        train_acc = float((predict_proba(model, tx[:2000]).argmax(1) == ty[:2000]).mean())
        p = [attack(model, img, t, eps=2.8).p_target for _, img, t in cases]
        ok = rep.val_accuracy >= 0.99 and min(p) >= 0.99
        print(f"{seed:>4} {train_acc:>9.2%} {rep.val_accuracy:>8.2%} {rep.seconds:>5.0f} "
              + " ".join(f"{q:>7.4f}" for q in p) + f"  {'yes' if ok else 'no'}", flush=True)


if __name__ == "__main__":
    main()
