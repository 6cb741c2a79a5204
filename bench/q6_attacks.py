"""Q6 benchmark: quiz1's attack against library minimal-L2 attacks, every result rounded to uint8 and re-checked.

Cases: I0 -> 1, I1 -> 0, I1 -> 7 and N validation images (MNIST test split, index >= 8000) with random targets.
Libraries (bench extras, pip install torchattacks foolbox adv-lib): torchattacks CW and PGD-L2 (eps bisected),
foolbox DDN and FMN, adv_lib DDN, FMN and ALMA; each missing library is skipped with a note.
Every adversarial image is rounded with the same repair as quiz1 (smallest scale of the perturbation whose
uint8 rounding stays adversarial), so the comparison is of L2 after rounding, in [0, 1] units.
Run: .venv/bin/python bench/q6_attacks.py MODEL.pth QUIZ_DATA_DIR MNIST_DIR [--n-val 20] [--quiz1-only | --libs NAME]

With --eps E the bench compares the quiz's literal problem instead: the objective (p_t - 1)^2 of the saved image
inside the L2 ball of radius E ([0, 1] units), quiz1's ``attack(eps=E)`` against targeted PGD-L2 (torchattacks)
and APGD (adv_lib, CE and DLR losses) at the same radius, every result through the same 8-bit rounding inside the
ball (``to_uint8_within``), judged by M.
"""
import argparse
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

from quiz1.data.loaders import load_image, load_mnist
from quiz1.solvers.adversarial import attack, specialise, to_uint8_adversarial, to_uint8_within
from quiz1.solvers.mnist_model import load_model


def _lib_attacks(model):
    out = {}
    try:
        import torchattacks

        def targeted(a):  # set_mode_targeted_by_label works in place and returns None
            a.set_mode_targeted_by_label(quiet=True)
            return a

        def cw_search(x, t, rounds=6, steps=300):
            # CW has no built-in search over its trade-off c: c grows x10 until it succeeds, then is bisected
            lo, hi, c, best, best_l2 = 0.0, None, 1.0, x, float("inf")
            for _ in range(rounds):
                adv = targeted(torchattacks.CW(model, c=c, steps=steps, lr=0.01))(x, t)
                ok = int(model(adv).argmax(1)) == int(t)
                if ok and float((adv - x).norm()) < best_l2:
                    best, best_l2 = adv, float((adv - x).norm())
                if ok:
                    hi = c
                else:
                    lo = c
                c = c * 10 if hi is None else (lo + hi) / 2
            return best
        out["torchattacks CW (c searched)"] = cw_search

        def pgd_bisect(x, t):
            lo, hi, best = 0.0, 6.0, None
            for _ in range(12):
                mid = (lo + hi) / 2
                adv = targeted(torchattacks.PGDL2(model, eps=mid, alpha=mid / 10, steps=100))(x, t)
                if int(model(adv).argmax(1)) == int(t):
                    hi, best = mid, adv
                else:
                    lo = mid
            return best if best is not None else x
        out["torchattacks PGD-L2 (bisected)"] = pgd_bisect
    except ImportError:
        print("torchattacks missing: skipped")
    try:
        import foolbox as fb

        fmodel = fb.PyTorchModel(model, bounds=(0, 1))
        for name, atk in (("foolbox DDN", fb.attacks.DDNAttack(steps=1000)),
                          ("foolbox FMN", fb.attacks.L2FMNAttack(steps=1000))):
            out[name] = (lambda a: lambda x, t: a(fmodel, x, fb.criteria.TargetedMisclassification(t), epsilons=None)[1])(atk)
    except ImportError:
        print("foolbox missing: skipped")
    try:
        # adv_lib imports visdom for its optional live plots only; visdom does not build here, so a stub stands in
        sys.modules.setdefault("visdom", types.ModuleType("visdom"))
        from adv_lib.attacks import alma, ddn, fmn

        out["adv_lib DDN"] = lambda x, t: ddn(model, x, t, targeted=True, steps=1000)
        out["adv_lib FMN"] = lambda x, t: fmn(model, x, t, norm=2, targeted=True, steps=1000)
        out["adv_lib ALMA"] = lambda x, t: alma(model, x, t, distance="l2", targeted=True, num_steps=1000)
    except ImportError:
        print("adv_lib missing: skipped")
    return out


def _ball_attacks(model, eps):
    """Library attacks that maximise the target's score inside the L2 ball of radius eps."""
    out = {}
    try:
        import torchattacks

        def pgd(x, t):
            a = torchattacks.PGDL2(model, eps=eps, alpha=eps / 8, steps=200, random_start=False)
            a.set_mode_targeted_by_label(quiet=True)
            return a(x, t)
        out["torchattacks PGD-L2"] = pgd
    except ImportError:
        print("torchattacks missing: skipped")
    try:
        sys.modules.setdefault("visdom", types.ModuleType("visdom"))
        from adv_lib.attacks import apgd

        for loss in ("ce", "dlr"):
            out[f"adv_lib APGD ({loss.upper()})"] = (lambda loss: lambda x, t: apgd(
                model, x, t, eps=eps, norm=2, targeted=True, n_iter=200, loss_function=loss))(loss)
    except ImportError:
        print("adv_lib missing: skipped")
    return out


def eps_main(model, cases, eps, steps=None, quiz1_only=False):
    """The literal-objective table: median (p_t - 1)^2 of the saved image, share inside the ball, target reached."""
    methods = {"quiz1": None, **({} if quiz1_only else _ball_attacks(model, eps))}
    rows = {m: [] for m in methods}
    for name, img, t in cases:
        x0 = torch.tensor(img, dtype=torch.float32)[None, None] / 255
        line = [f"{name:<14}"]
        for m, fn in methods.items():
            t0 = time.perf_counter()
            if fn is None:
                r = attack(model, img, t, eps=eps, **({"steps": steps} if steps else {}))
                u8 = r.adv_u8
            else:
                try:
                    adv = fn(x0, torch.tensor([t]))
                    u8, _ = to_uint8_within(model, x0, (adv - x0).detach(), t, eps)
                except Exception as e:  # a library failing on a case: the image itself, reported
                    print(f"  {m} failed on {name}: {e.__class__.__name__}: {e}")
                    u8 = img
            with torch.no_grad():
                p = torch.softmax(model(torch.tensor(u8, dtype=torch.float32)[None, None] / 255), 1)[0]
            l2 = float(np.linalg.norm((u8.astype(float) - img) / 255))
            rows[m].append(((float(p[t]) - 1) ** 2, l2 <= eps + 1e-12, int(p.argmax()) == t, time.perf_counter() - t0))
            line.append(f"{rows[m][-1][0]:.3e}")
        print("  ".join(line), flush=True)
    print(f"(columns: {', '.join(methods)}; (p_t - 1)^2 of the saved 8-bit image, L2 <= {eps:g} in [0, 1] units)")
    print(f"\n{'method':<24} {'median (p_t-1)^2':>17} {'inside ball':>12} {'target read':>12} {'sec/img':>8}")
    for m, v in rows.items():
        print(f"{m:<24} {np.median([r[0] for r in v]):>17.3e} {np.mean([r[1] for r in v]) * 100:>11.0f}% "
              f"{np.mean([r[2] for r in v]) * 100:>11.0f}% {np.median([r[3] for r in v]):>8.2f}")
    libs = [m for m in rows if m != "quiz1"]
    if libs:
        best = min(libs, key=lambda m: np.median([r[0] for r in rows[m]]))
        q, b = np.median([r[0] for r in rows["quiz1"]]), np.median([r[0] for r in rows[best]])
        print(f"\nquiz1 median objective {q:.3e} vs best library ({best}) {b:.3e}: "
              f"{'quiz1 <= best' if q <= b else 'quiz1 > best'}")


def _cases(quiz_dir, mnist_dir, n_val):
    i0, i1 = load_image(Path(quiz_dir) / "Q6" / "I0.png"), load_image(Path(quiz_dir) / "Q6" / "I1.png")
    cases = [("I0->1", i0, 1), ("I1->0", i1, 0), ("I1->7", i1, 7)]
    X, Y = load_mnist(mnist_dir)
    rng = np.random.default_rng(0)
    for i in rng.choice(np.arange(8000, 10000), n_val, replace=False):  # validation images only
        t = int(rng.choice([d for d in range(10) if d != Y[i]]))
        cases.append((f"val#{i}->{t}", X[i], t))
    return cases


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model"), ap.add_argument("quiz_dir"), ap.add_argument("mnist_dir")
    ap.add_argument("--n-val", type=int, default=20, help="validation images with random targets (default 20)")
    ap.add_argument("--steps", type=int, default=None, help="quiz1's step count (default: the attack's own)")
    ap.add_argument("--quiz1-only", action="store_true", help="time quiz1's attack alone (no libraries, no ablation)")
    ap.add_argument("--eps", type=float, help="compare the literal objective inside the L2 ball of this radius")
    ap.add_argument("--libs", help="only the library attacks whose name contains this (e.g. adv_lib), no ablation; "
                    "they search on quiz1's exact faster copy of M (specialise), about twice as fast")
    args = ap.parse_args(argv)
    model = load_model(args.model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    cases = _cases(args.quiz_dir, args.mnist_dir, args.n_val)
    if args.eps is not None:
        return eps_main(model, cases, args.eps, args.steps, args.quiz1_only)
    methods = {"quiz1": None}
    if args.libs:  # the libraries search on the same exact, faster copy of M that quiz1 searches on; M judges all
        methods |= {m: fn for m, fn in _lib_attacks(specialise(model)).items() if args.libs in m}
    elif not args.quiz1_only:
        methods |= {"quiz1 at T = 1 (ablation)": None, **_lib_attacks(model)}
    rows = {m: [] for m in methods}
    for name, img, t in cases:
        x0 = torch.tensor(img, dtype=torch.float32)[None, None] / 255
        line = [f"{name:<14}"]
        for m, fn in methods.items():
            t0 = time.perf_counter()
            if fn is None:
                kw = {"temperature": 1.0} if "T = 1" in m else {}
                r = attack(model, img, t, **kw, **({"steps": args.steps} if args.steps else {}))
                l2, ok = r.l2_uint8, r.success
            else:
                try:
                    adv = fn(x0, torch.tensor([t]))
                    u8, _ = to_uint8_adversarial(model, x0, (adv - x0).detach(), t, max_scale=3.0)
                    ok = u8 is not None
                    l2 = float(np.linalg.norm((u8.astype(float) - img) / 255)) if ok else np.inf
                except Exception as e:  # a library failing on a case counts as a failure, reported
                    print(f"  {m} failed on {name}: {e.__class__.__name__}: {e}")
                    l2, ok = np.inf, False
            rows[m].append((l2, ok, time.perf_counter() - t0))
            line.append(f"{l2:.4f}" + (f" ({rows[m][-1][2]:.1f} s)" if m == "quiz1" else ""))
        print("  ".join(line), flush=True)
    print(f"(columns: {', '.join(methods)}; L2 after uint8 rounding, [0, 1] units, quiz1's seconds in brackets; "
          "inf = no adversarial uint8 image)")
    print(f"\n{'method':<32} {'median L2 (uint8)':>18} {'success':>8} {'sec/img':>8} {'max sec':>8}")
    for m, v in rows.items():
        secs = [r[2] for r in v]
        print(f"{m:<32} {np.median([r[0] for r in v]):>18.4f} {np.mean([r[1] for r in v]) * 100:>7.0f}% "
              f"{np.median(secs):>8.2f} {max(secs):>8.2f}")
    libs = [m for m in rows if not m.startswith("quiz1")]
    if libs:
        best_lib = min(libs, key=lambda m: np.median([r[0] for r in rows[m]]))
        q = np.median([r[0] for r in rows["quiz1"]])
        per_case_best = [min(rows[m][k][0] for m in libs) for k in range(len(cases))]
        wins = sum(rows["quiz1"][k][0] <= per_case_best[k] for k in range(len(cases)))
        print(f"\nquiz1 median / best library median ({best_lib}) = {q / np.median([r[0] for r in rows[best_lib]]):.3f}")
        print(f"quiz1 at or below every library on {wins}/{len(cases)} cases; "
              f"median of quiz1 / per-case best = {np.median([rows['quiz1'][k][0] / per_case_best[k] for k in range(len(cases))]):.3f}")


if __name__ == "__main__":
    main()
