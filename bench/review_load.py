"""The TA's load on a class of N synthetic submissions (default 200): decisions to mark every `unverified` item one by
one, and by answer group (``marks.groups``).

No notebook runs. Each student gets one kind of answer per question, dealt in the proportions below (common partial
answers repeated: a library loss in Q1, a derivation that stops at dL/ds or leaves out the ReLU's path in Q3, a
network near PCA in Q4, a curve 2-10% off in Q5, retain_graph in Q7; and singular ones: a wrong value of one's own, an
unreadable notation, an error of one's own), and the report JSON the grader would write for it is built from that
kind: ``found`` and ``note`` in each verdict's own words, the student's own places, names and numbers (cells, variables,
classes, printed digits, the variant data, the xinit drawn, the measured losses and sizes) drawn per student. Q3's
verdicts are the grader's own: each student's LaTeX (one of several spellings of each derivation, or a formula of
their own) goes through ``equivalence.check_q3``. Q4's and Q5's measures are the typed records' fields
(``q4.Fit``, ``q5.Fit``) with their statuses by the verdicts' rules.

A decision is a group marked (its members at once) or an item marked alone. Printed: per question the `unverified`
items (one decision each, one by one), their groups (a decision each), the groups of one among them, the ratio; the
machine-decided groups a TA can spot-check (correct and wrong groups against items); the seconds to propose the
groups of the class, and to serve one question's groups from OUTDIR (``groups.groups``: reading the class's JSONs
and the overrides, what a group page calls).

    python bench/review_load.py [--n 200] [--seed 0] [--singular 1] [--seeds 10]
"""
from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

MEAN = 1.7234519     # quiz1's Q1 mean on the class's data (every student has the quiz's data)
Q2_NATURAL = "[15, 22.2, 31.4], the natural reading (operands in the drawn order)"
Q2_DIV = "[14.6333, 21.8333, 31.0333], the reading with div2 as `q / p`"
Q2_CLAIM = "[25, 35, 47]"
Q2_NOTE = "no program drawn as Figure 1 reproduces the statement's [7, 11, 17] at [1, 2, 3]"
Q7_ERROR = "RuntimeError: Trying to backward through the graph a second time (or directly access saved tensors after " \
           "they have already been freed)."
VARS, CLASSES = ("out", "y", "f", "z", "res", "output"), ("G", "G", "G", "G_fixed", "G2", "FixedG", "NewG")


def deal(rng: random.Random, kinds: dict, n: int) -> list[str]:
    """The kinds of answer of ``n`` students in the proportions of ``kinds`` ({name: (weight in %, maker)}): each
    kind's share of ``n`` (largest remainders rounded up), in a random order."""
    total = sum(w for w, _ in kinds.values())
    exact = {k: n * w / total for k, (w, _) in kinds.items()}
    counts = {k: int(x) for k, x in exact.items()}
    for k in sorted(exact, key=lambda k: counts[k] - exact[k])[:n - sum(counts.values())]:
        counts[k] += 1
    out = [k for k, c in counts.items() for _ in range(c)]
    rng.shuffle(out)
    return out


def v(status, found=None, note=None):
    return {"status": status, "found": found, "expected": None, "note": note}


def cell(rng, stem):
    return f"({stem}.ipynb In [{rng.randint(2, 40)}])"


# --------------------------------------------------------------------------
# Q1: the loss

def q1_kinds():
    follow = "followed the data: on the variant data the same cell printed its mean {:.6g}"

    def lib(fn):
        return lambda r, s: v("unverified", f"mean {MEAN:.{r.randint(4, 7)}f} {cell(r, s)}", "; ".join([
            follow.format(r.uniform(1, 3)), f"computed with the library's {fn} (called at run time) where the quiz "
                                            f"asks for softmax and cross-entropy from scratch: a human should decide"]))

    def bare(r, s):
        others = ", ".join(f"{r.uniform(0, 3):.4g}" for _ in range(3))
        return v("unverified", f"mean {MEAN:.4f} {cell(r, s)}", f"{follow.format(r.uniform(1, 3))}; printed bare, "
                 f"among 3 other bare values in the section ({others}): which one is the answer? a human should decide")

    return {
        "correct mean": (58, lambda r, s: v("correct", f"mean {MEAN:.{r.randint(3, 8)}f} {cell(r, s)}",
                                            follow.format(r.uniform(1, 3)))),
        "correct total": (6, lambda r, s: v("correct", f"total {MEAN * 100:.{r.randint(2, 5)}f} {cell(r, s)}",
                                            follow.format(r.uniform(1, 3)).replace("mean", "total"))),
        "per-sample": (2, lambda r, s: v("correct", f"the 100 per-sample losses {cell(r, s)}",
                                         "followed the data: on the variant data the same cell printed its per-sample")),
        "F.cross_entropy": (9, lib("`torch.nn.functional.cross_entropy` (F.cross_entropy)")),
        "log_softmax": (4, lib("`torch.log_softmax`")),
        "logsumexp": (2, lib("`scipy.special.logsumexp`")),
        "bare among others": (2, bare),
        "variant not reached": (1, lambda r, s: v("unverified", f"mean {MEAN:.5f} {cell(r, s)}",
                                                  f"the value could not be checked on the variant data (the variant "
                                                  f"run did not reach In [{r.randint(3, 20)}]: the kernel died): a "
                                                  f"human should decide")),
        "log10": (2, lambda r, s: v("wrong", "0.748472, 74.8472")),
        "mean over classes": (2, lambda r, s: v("wrong", "0.172345")),
        "hard-coded": (2, lambda r, s: v("wrong", f"mean {MEAN:.4f} {cell(r, s)}", f"did not change when the data "
                                         f"changed: hard-coded? on the variant data the same cell printed {MEAN:.4f} "
                                         f"where the mean is {r.uniform(1, 3):.6f}")),
        "own wrong value": (3, lambda r, s: v("wrong", f"{r.uniform(0, 5):.5f}")),
        "error": (2, lambda r, s: v("error", None, f"{s}.ipynb In [{r.randint(2, 9)}]: " + r.choice(
            ["NameError: name 'z' is not defined", "FileNotFoundError: [Errno 2] No such file or directory: "
             "'data.txt'", "ValueError: operands could not be broadcast together"]))),
        "missing": (2, lambda r, s: v("missing", None, "no section for it")),
    }


# --------------------------------------------------------------------------
# Q2: Figure 1

def q2_kinds():
    held = "the notebook's `{}` has Figure 1's autograd graph and this value; " + Q2_NOTE
    return {
        "natural": (62, lambda r, s: v("correct", f"{Q2_NATURAL} {cell(r, s)}", held.format(r.choice(VARS)))),
        "leaves merged": (5, lambda r, s: v("correct", f"{Q2_NATURAL} {cell(r, s)}", held.format(r.choice(VARS)).replace(
            "this value", "this value (with a, b and c fed by one tensor: its leaves merged, as torchviz draws "
                          "`f(x, x, x)`)"))),
        "div2 reading": (4, lambda r, s: v("correct", f"{Q2_DIV} {cell(r, s)}", held.format(r.choice(VARS)))),
        "claim node": (7, lambda r, s: v("unverified", f"{Q2_CLAIM} {cell(r, s)}", f"{Q2_CLAIM} is the value at "
                                         f"[4, 5, 6] of node add2 (AddBackward0), where the claim [7, 11, 17] holds, "
                                         f"not of Figure 1's output; {Q2_NOTE}: a human should decide")),
        "not held": (4, lambda r, s: v("unverified", f"{Q2_NATURAL} {cell(r, s)}", f"the kernel's tensors drawn as "
                                       f"Figure 1 (the notebook's `{r.choice(VARS)}` = [{r.randint(1, 30)}, "
                                       f"{r.randint(1, 30)}, {r.randint(1, 30)}]) do not hold this value: a human "
                                       f"should decide")),
        "not shown": (3, lambda r, s: v("unverified", f"the notebook's `{r.choice(VARS)}` = [15, 22.2, 31.4], the "
                                        f"natural reading (operands in the drawn order)", "the kernel holds a program "
                                        "drawn as Figure 1 with a right output at [4, 5, 6], but the run does not "
                                        "show it: a human should decide")),
        "typed": (7, lambda r, s: v("wrong", f"{Q2_NATURAL} {cell(r, s)}", "no program computes it: no tensor the "
                                    "notebook holds or shows in its Q2 section has Figure 1's autograd graph (typed "
                                    "in, or computed without autograd)")),
        "own vector": (3, lambda r, s: v("wrong", f"[{r.randint(1, 50)}, {r.randint(1, 50)}, {r.randint(1, 50)}]")),
        "missing": (5, lambda r, s: v("missing", None, "no section for it")),
    }


# --------------------------------------------------------------------------
# Q3: the gradient, each spelling through the grader's own check

def dx(rhs, vector=False):
    return rf"$$\frac{{\partial L}}{{\partial {'X' if vector else 'x_i'}}} = {rhs}$$"


SPELLINGS = {
    "right": [dx(r"(\sigma(s) - y)\sum_j W_{ij}(\mathbb{1}[f_j>0] + v_j)"),
              dx(r"(\sigma(s) - y)\sum_{j=1}^{2} W^{(1)}_{ij}\left(H(f_j) + W^{(2)}_j\right)"),
              dx(r"(\sigma(s) - y) W (\mathbb{1}[f > 0] + v)", True),
              dx(r"(\hat y - y) W_1 (\mathbb{1}[W_1^T x > 0] + W_2)", True),
              dx(r"(\sigma(s) - y)\sum_j W_{ij}\begin{cases} 1 + v_j & f_j > 0 \\ v_j & \text{otherwise}\end{cases}"),
              dx(r"\left(\frac{1}{1+e^{-s}} - y\right)\sum_j w_{ji}(\mathbb{1}[f_j > 0] + v_j)")],
    "no ReLU path": [dx(r"(\sigma(s) - y)\sum_j W_{ij} v_j"), dx(r"(\hat y - y) W_1 W_2", True),
                     dx(r"\sum_{j=1}^{2} w_{ji} v_j \left(\frac{1}{1+e^{-s}} - y\right)"),
                     "\n\n".join(rf"$$\frac{{\partial L}}{{\partial x_{i}}} = (\sigma(s) - y)(W_{{{i}1}} v_1 + "
                                 rf"W_{{{i}2}} v_2)$$" for i in (1, 2, 3))],
    "no linear path": [dx(r"(\sigma(s)-y)\sum_j W_{ij}\mathbb{1}[f_j>0]"),
                       dx(r"(\sigma(s) - y) W \mathbb{1}[f > 0]", True)],
    "sign flipped": [dx(r"(y - \sigma(s))\sum_j W_{ij}(\mathbb{1}[f_j>0] + v_j)"),
                     dx(r"(y - \hat y) W (\mathbb{1}[f > 0] + v)", True)],
    "sigmoid'": [dx(r"\sigma(s)(1-\sigma(s))\sum_j W_{ij}(\mathbb{1}[f_j>0] + v_j)"),
                 dx(r"\sigma(s)(1-\sigma(s)) W (\mathbb{1}[f > 0] + v)", True)],
    "stops at dL/ds": [r"$$\frac{\partial L}{\partial s} = \sigma(s) - y$$",
                       r"$$\frac{\partial L}{\partial s} = \hat{y} - y$$",
                       r"$$\frac{\partial L}{\partial s} = \frac{1}{1 + e^{-s}} - y$$"],
    "stops at dL/df": [r"$$\frac{\partial L}{\partial f_j} = (\sigma(s) - y)(\mathbb{1}[f_j > 0] + v_j)$$"],
}
CHAIN = [dx(r"(\sigma(s) - y)\frac{\partial s}{\partial x_i}"), dx(r"(\sigma(s)-y) \frac{\partial s}{\partial x_i}"),
         dx(r"\frac{\partial L}{\partial s}\frac{\partial s}{\partial x}", True),
         dx(r"\frac{\partial L}{\partial s} \cdot \frac{\partial s}{\partial x}", True)]   # the chain rule left unexpanded
WEIGHTS3 = {"right": 45, "no ReLU path": 10, "no linear path": 3, "sign flipped": 3, "sigmoid'": 4,
            "stops at dL/ds": 7, "stops at dL/df": 2, "chain rule left": 4, "own notation": 3, "alternatives": 3,
            "no formula": 3, "missing": 4}


@functools.lru_cache(maxsize=None)
def checked(markdown: str) -> dict:
    from quiz1.grading.questions.equivalence import check_q3

    r = check_q3([markdown])
    return v(r.status, r.found, r.note)


def q3_kinds():
    def spelled(kind):
        return lambda r, s: checked(r.choice(SPELLINGS[kind]))

    def own_notation(r, s):         # a notation of one's own: the grader cannot read it
        macro = r.choice([r"\mathcal{G}", r"\nabla_{\theta}", r"\mathfrak{D}", r"\Phi"])
        return checked(dx(rf"{macro}_{{{r.randint(1, 99)}}}(s) \star W^{{[{r.randint(1, 9)}]}}"))

    def alternatives(r, s):
        a, b = r.choice(SPELLINGS["no ReLU path"][:3]), r.choice(SPELLINGS["right"][:4])
        return checked(f"{a}\n\nor maybe\n\n{b}")

    makers = {k: spelled(k) for k in SPELLINGS} | {
        "chain rule left": lambda r, s: checked(r.choice(CHAIN)), "own notation": own_notation,
        "alternatives": alternatives,
        "no formula": lambda r, s: v("unverified", None, f"shows 0 formula(s), 0 plot(s), 0 cell(s) with printed "
                                     f"output, {r.randint(80, 900)} characters of Markdown text; not checkable by a "
                                     f"machine: a human should read it"),
        "missing": lambda r, s: v("missing", None, "no section for it")}
    return {k: (WEIGHTS3[k], m) for k, m in makers.items()}


# --------------------------------------------------------------------------
# Q4: encoders, per file

FILES = {"Q1Q4I1.txt": 10_000, "Q1Q4I2.npz": 10_000, "Q1Q4I3.npz": 100_000}
PCA = {"Q1Q4I1.txt": 0.052, "Q1Q4I2.npz": 0.11, "Q1Q4I3.npz": 0.034}


def fit4(r, f, status, kind="module", params=0, ratio=1e-20, printed=True):
    return {"name": "Markdown formulas" if kind == "Markdown formulas" else r.choice(["enc, dec", "AE", "model"]),
            "kind": kind, "params": params, "limit": FILES[f], "mse": ratio * PCA[f], "rel": ratio ** 0.5,
            "rel_shipped": ratio ** 0.5, "fresh": 2000, "fresh_error": None, "pca_mse": PCA[f], "status": status,
            "printed": printed, "n": 1000}


def q4_kinds():
    def net(ratios, big=False, kind=None):
        """A network on every file: one architecture (so one size band), the loss drawn per file from ``ratios``
        (a tenth of the students have one file in the next band); 70% of the students print their parameter
        counts (for every network: a habit, not a coin per file)."""
        def make(r, s):
            k = kind or ("module" if r.random() < 0.85 else "functions")
            printed = r.random() < 0.7
            width = r.choice([4, 8, 16, 32]) * (8 if big else 1)
            out = {}
            for f in FILES:
                lo, hi = ratios
                if r.random() < 0.1:
                    lo, hi = (hi, min(hi * 4, 1.4))
                params = width * 2 * 4 + width * 3 + 3
                ratio = r.uniform(lo, hi)
                status = "too large" if params >= FILES[f] else "worse than linear" if ratio > 1.5 else "network"
                out[f] = fit4(r, f, status, k, params, ratio, printed)
            return out
        return make

    def exact(kind):
        return lambda r, s: {f: fit4(r, f, "exact", kind, 0 if kind == "Markdown formulas" else r.randint(4, 30),
                                     r.uniform(1e-22, 1e-18)) for f in FILES}

    def mixed(r, s):
        out = net((0.005, 0.09))(r, s)
        out["Q1Q4I1.txt"] = fit4(r, "Q1Q4I1.txt", "exact", "functions", r.randint(4, 30), 1e-20)
        return out

    def one_too_large(r, s):
        out = net((0.005, 0.09))(r, s)
        f = r.choice(list(FILES))
        out[f] = fit4(r, f, "too large", out[f]["kind"], FILES[f] + r.randint(100, 50_000), 0.001)
        return out

    def verdict(files):
        statuses = {m["status"] for m in files.values()}
        if statuses == {"exact"} and len(files) == 3:
            return "correct"
        bad = {"too large", "worse than linear", "memorised"}
        return "wrong" if statuses <= bad and len(files) == 3 else "unverified"

    def measured(maker):
        def make(r, s):
            files = maker(r, s)
            return v(verdict(files), "; ".join(f"{f}: {m['kind']} `{m['name']}`: MSE {m['mse']:.3g} ({m['status']})"
                                               for f, m in files.items()), "a human sets the marks"), files
        return make

    return {
        "exact formulas": (8, measured(exact("Markdown formulas"))),
        "exact code": (4, measured(exact("functions"))),
        "good network": (30, measured(net((0.005, 0.09)))),
        "fair network": (18, measured(net((0.12, 0.8)))),
        "bigger network": (5, measured(net((0.005, 0.09), big=True))),
        "near PCA": (7, measured(net((0.96, 1.4)))),
        "worse than linear": (3, measured(net((1.6, 4.0)))),
        "one file too large": (4, measured(one_too_large)),
        "exact on one file": (5, measured(mixed)),
        "nothing found": (8, lambda r, s: (v("unverified", ", ".join(f"{r.uniform(0, 1):.4g}" for _ in range(4)),
                                             "no encoder and decoder found; shows 2 cell(s) with printed output; not "
                                             "checkable by a machine: a human should read it"), None)),
        "missing": (6, lambda r, s: (v("missing", None, "no section for it"), None)),
        "error": (2, lambda r, s: (v("error", None, f"{s}.ipynb In [{r.randint(10, 30)}]: RuntimeError: mat1 and "
                                                    f"mat2 shapes cannot be multiplied"), None)),
    }


# --------------------------------------------------------------------------
# Q5: the MLP of f

def fit5(r, rmse, hidden=2, acts=None, all_activated=True, bypass=None, memorised=None):
    acts = acts or [r.choices(["relu", "tanh", "sigmoid"], weights=[65, 25, 10])[0]]
    return {"name": "MLP", "kind": "module", "params": r.randint(100, 5000), "rmse": rmse, "rmse_data": rmse,
            "bypass": bypass, "beyond": None, "between": 200, "orientation": r.choice(["forward", "reversed"]),
            "input": "x", "output_scaled": False, "hidden": hidden, "activations": acts,
            "all_activated": all_activated, "x": [], "pred": [], "truth": [], "memorised": memorised}


def q5_kinds():
    def measured(status, **kw):
        def make(r, s):
            args = {k: (w(r) if callable(w) else w) for k, w in kw.items()}
            m = fit5(r, **args)
            return v(status, f"module `MLP` ({m['params']:,} parameters): RMSE {m['rmse']:.2%}", "measured"), m
        return make

    return {
        "fits": (42, measured("correct", rmse=lambda r: r.uniform(0.001, 0.019))),
        "near f": (14, measured("unverified", rmse=lambda r: r.uniform(0.021, 0.099))),
        "one hidden layer": (7, measured("unverified", rmse=lambda r: r.uniform(0.002, 0.019), hidden=1)),
        "three hidden layers": (4, measured("unverified", rmse=lambda r: r.uniform(0.002, 0.019),
                                            hidden=lambda r: r.choice([3, 3, 4]))),
        "not all activated": (3, measured("unverified", rmse=lambda r: r.uniform(0.002, 0.019), all_activated=False)),
        "off": (10, measured("wrong", rmse=lambda r: r.uniform(0.12, 1.9), hidden=lambda r: r.choice([1, 2, 2, 3]))),
        "bypass": (2, measured("wrong", rmse=lambda r: r.uniform(0.001, 0.01), bypass=lambda r: r.uniform(0, 0.05))),
        "memorised": (1, measured("wrong", rmse=lambda r: r.uniform(0.3, 1.0), memorised=lambda r: r.uniform(0, .02))),
        "no model": (6, lambda r, s: (v("unverified", None, f"no model with 1 input, 2 outputs and linear layers "
                                        f"found; shows {r.randint(1, 4)} plot(s): a human should read it"), None)),
        "plots only": (3, lambda r, s: (v("wrong", None, f"no model: the Q5 section builds no network (no torch "
                                          f"module, no MLP), so its {r.randint(1, 3)} plot(s) show the data, not a "
                                          f"learned f"), None)),
        "missing": (8, lambda r, s: (v("missing", None, "no section for it"), None)),
    }


# --------------------------------------------------------------------------
# Q6: adversarial images

def rows(r, l2s, reads, names=("I0_adv", "I1_adv")):
    return "; ".join(f"Q_6/{n}.png ~ I{k}: L2 {l2:.4f} ([0, 1]) = {255 * l2:.1f} (0..255)"
                     + (f", read as {p} (p = {r.uniform(0.5, 1):.2f})" if p is not None else "")
                     for k, (n, l2, p) in enumerate(zip(names, l2s, reads)))


def q6_kinds():
    beyond = ("the targets are reached but with a change beyond every reading of eps = 0.1 (the largest, per-pixel "
              "RMS 0.1, allows L2 2.8): a human should decide")

    def variant(r):
        return (f"on I0 = another 0 (MNIST #{r.randint(0, 9999)}, read by M as 0), Q_6/I0_adv.png: L2 "
                f"{r.uniform(0.5, 2):.3f}, {r.randint(20, 200)} pixels changed, read by M as {r.choice([0, 0, 6, 8])} "
                f"(p = {r.uniform(0.5, 1):.2f}), not a target: the notebook's attack does not reach the target on a "
                f"digit it had not seen (a weak attack, or images made beforehand): a human should decide")

    return {
        "attack": (50, lambda r, s: v("correct", rows(r, [r.uniform(0.3, 2.7), r.uniform(0.3, 2.7)], [1, 7]),
                                      "the images followed the data")),
        "beyond eps": (7, lambda r, s: v("unverified", rows(r, [r.uniform(2.9, 5.5), r.uniform(2.0, 5.5)], [1, 7]),
                                         beyond)),
        "shown, not saved": (5, lambda r, s: v("unverified", f"{r.randint(2, 4)} image(s) displayed in the section, "
                                               f"no new 28x28 PNG written", "the images are shown but not saved, so "
                                               "M cannot read them for the grader: a human should look at them and "
                                               "at the classifications printed")),
        "variant missed": (5, lambda r, s: v("unverified", rows(r, [r.uniform(0.3, 2.7), r.uniform(0.3, 2.7)], [1, 7]),
                                             variant(r))),
        "variant wrote none": (3, lambda r, s: v("unverified", rows(r, [r.uniform(0.3, 2.7), r.uniform(0.3, 2.7)],
                                                                    [1, 7]), f"on I1 = another 1 (MNIST "
                                                 f"#{r.randint(0, 9999)}), the run wrote no new image for it (an "
                                                 f"attack that saves only on success, or images made beforehand): "
                                                 f"a human should decide")),
        "no model": (2, lambda r, s: v("unverified", rows(r, [r.uniform(0.3, 2.7), r.uniform(0.3, 2.7)],
                                                          [None, None]),
                                       "no Q_6/model.pth in the zip to classify the images with")),
        "not the target": (10, lambda r, s: v("wrong", rows(r, [r.uniform(0.3, 2.7), r.uniform(0.3, 2.7)],
                                                            [r.choice([4, 1]), r.choice([7, 9, 2])]))),
        "pre-made": (3, lambda r, s: v("wrong", rows(r, [r.uniform(0.3, 2.7), r.uniform(0.3, 2.7)], [1, 7]),
                                       f"on I0 = another 0 (MNIST #{r.randint(0, 9999)}), Q_6/I0_adv.png is I0's new "
                                       f"digit plus the change the first run made to the quiz's I0 (cosine "
                                       f"{r.uniform(0.95, 1):.3f} over the pixels neither image clips; honest attacks "
                                       f"on two digits stay under 0.9): a perturbation made beforehand")),
        "missing": (15, lambda r, s: v("missing", None, "no new 28x28 PNG written by the run; no section for it")),
    }


# --------------------------------------------------------------------------
# Q7: the double backward

def q7_kinds():
    def ok(status, note):
        return lambda r, s: v(status, f"class {r.choice(CLASSES)}: xinit.grad 18 then 36", note(r))

    xs = "the grader took class `{}` out of the notebook and ran the quiz's main block with it in a fresh kernel: " \
         "the gradients of quiz1's fixed class at xinit = 1 and {:.4g}, {:.4g}"
    return {
        "fixed": (55, ok("correct", lambda r: xs.format(r.choice(CLASSES), r.uniform(-2, 2), r.uniform(-2, 2)))),
        "retain_graph, passes": (9, ok("unverified", lambda r: f"the main block gives the quiz's gradients, but class "
                                       f"`{r.choice(CLASSES)}` uses retain_graph: that hides the error and keeps every "
                                       f"old graph alive (memory grows with each call): a human should decide")),
        "retain_graph, fails": (4, lambda r, s: v("unverified", f"class {r.choice(CLASSES)}: {Q7_ERROR}",
                                                  "uses retain_graph=True: that hides the error and keeps every old "
                                                  "graph alive (memory grows with each call); the class itself is not "
                                                  "fixed: a human should decide")),
        "backward patched": (2, ok("unverified", lambda r: f"the main block gives the quiz's gradients, but class "
                                   f"`{r.choice(CLASSES)}` replaced torch.Tensor.backward while it ran (e.g. a backward "
                                   f"that passes retain_graph=True): the class itself is not fixed: a human should "
                                   f"decide")),
        "fix outside the class": (4, lambda r, s: v("unverified", f"class G: {Q7_ERROR}", "the quiz's main block still "
                                  "fails with this class, but the section's own code runs both passes ('well done'): "
                                  "the fix is outside the class (in the main block?); whether it keeps the original "
                                  "functionality is a human's call")),
        "needs a name": (3, lambda r, s: v("unverified", f"class G: NameError: name "
                                           f"'{r.choice(['helper', 'square', 'fresh', 'h', 'clone_g'])}' is not "
                                           f"defined", "the class could not run apart from the notebook (it may need "
                                           "a name the section defines outside a class): a human should check the "
                                           "fix")),
        "not fixed": (8, lambda r, s: v("wrong", f"class G: {Q7_ERROR}", "the quiz's main block still fails with "
                                        "this class: the bug is not fixed")),
        "other gradients": (4, lambda r, s: v("wrong", f"class {r.choice(CLASSES)}: xinit.grad 18 then "
                                              f"{r.choice([54, 54, 54, 72, r.randint(1, 99)])}", "the quiz's main "
                                              "block runs with this class, but the gradients differ from the quiz's "
                                              "(the fix changed what G computes)")),
        "typed": (2, lambda r, s: v("wrong", "18, 36", "an answer typed in: the Q7 section prints but defines no class "
                                    "to run the quiz's main block with (printed text is not a fix)")),
        "missing": (8, lambda r, s: v("missing", None, "no section for it")),
    }


KINDS = {"Q1": q1_kinds, "Q2": q2_kinds, "Q3": q3_kinds, "Q4": q4_kinds, "Q5": q5_kinds, "Q6": q6_kinds,
         "Q7": q7_kinds}
# the kinds whose items are singular: evidence of one's own (a value, a notation, an error), or nothing a machine
# reads (the item stays alone); --singular scales their weights
SINGULAR = {"Q1": ("own wrong value", "error"), "Q2": ("own vector",), "Q3": ("own notation", "no formula"),
            "Q4": ("nothing found",), "Q5": ("no model", "plots only")}


def synthetic_class(n: int, seed: int = 0, singular: float = 1.0) -> tuple[dict, dict]:
    """(stem -> report JSON, question -> {kind: count}) of ``n`` students; ``singular`` scales the weights of the
    ``SINGULAR`` kinds."""
    rng = random.Random(seed)
    kinds = {q: {k: (w * (singular if k in SINGULAR.get(q, ()) else 1), m) for k, (w, m) in make().items()}
             for q, make in KINDS.items()}
    dealt = {q: deal(rng, ks, n) for q, ks in kinds.items()}
    reports, drawn = {}, {q: {} for q in KINDS}
    for k in range(n):
        stem = f"A{k:07d}X"
        questions, measures = {}, {}
        for q, ks in kinds.items():
            name = dealt[q][k]
            drawn[q][name] = drawn[q].get(name, 0) + 1
            got = ks[name][1](rng, stem)
            if isinstance(got, tuple):
                got, m = got
                if m is not None:
                    measures[q] = m
            questions[q] = got
        reports[stem] = {"student_id": stem, "graded": True, "passed": False, "zip": f"{stem}.zip", "notebooks": [],
                         "measures": measures, "questions": questions}
    return reports, drawn


def load(proposed: dict) -> list[tuple]:
    """(question, unverified items, groups of them, groups of one among them, correct/wrong items, their groups) per
    question."""
    out = []
    for q, gs in proposed.items():
        unv = [g for g in gs if g.status == "unverified"]
        machine = [g for g in gs if g.status in ("correct", "wrong")]
        out.append((q, sum(len(g.members) for g in unv), len(unv), sum(len(g.members) == 1 for g in unv),
                    sum(len(g.members) for g in machine), len(machine)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--singular", type=float, default=1.0, help="scale of the singular kinds' weights (default 1)")
    ap.add_argument("--seeds", type=int, default=10, help="classes drawn for the ratio's spread (seed .. seed+K-1)")
    a = ap.parse_args()
    from quiz1.grading.marks import groups
    from quiz1.grading.questions import formula_values

    t0 = time.monotonic()
    reports, drawn = synthetic_class(a.n, a.seed, a.singular)
    single = sum(c for q, ks in drawn.items() for k, c in ks.items() if k in SINGULAR.get(q, ()))
    built = time.monotonic() - t0
    t0 = time.monotonic()
    proposed = groups.propose(reports)
    propose_s = time.monotonic() - t0
    rows = load(proposed)
    with tempfile.TemporaryDirectory(prefix="quiz1-review-load-") as tmp:
        out = Path(tmp)
        for stem, r in reports.items():
            (out / f"{stem}.json").write_text(json.dumps(r, indent=2))
        for q, gs in proposed.items():            # a TA's few overrides, replayed on each read
            multi = [g for g in gs if len(g.members) > 1]
            if len(multi) >= 2:
                groups.move(out, q, multi[0].members[0], multi[1].key, by="bench")
                groups.merge(out, q, multi[0].key, gs[-1].key, by="bench")
        serve, cold = {}, {}
        formula_values.signature.cache_clear()      # the first read of a fresh process: Q3's formulas evaluated
        for q in proposed:
            times = []
            for _ in range(3):
                t0 = time.monotonic()
                groups.groups(out, q)
                times.append(time.monotonic() - t0)
            serve[q], cold[q] = min(times), times[0]

    print(f"{a.n} synthetic students (seed {a.seed}); report JSONs built in {built:.1f} s (Q3 through check_q3); "
          f"{single} of their {a.n * len(drawn)} items of a singular kind (--singular {a.singular:g})")
    print(f"{'question':<9}{'unverified':>11}{'one by one':>11}{'by group':>9}{'of one':>7}{'ratio':>7}"
          f"{'   correct/wrong items':>22}{'groups':>7}{'   groups(out, q) s':>19}")
    tot = [0] * 5
    for (q, u, g, alone, m_items, m_groups) in rows:
        for k, x in enumerate((u, g, alone, m_items, m_groups)):
            tot[k] += x
        ratio = f"{u / g:.2f}x" if g else "-"
        print(f"{q:<9}{u:>11}{u:>11}{g:>9}{alone:>7}{ratio:>7}{m_items:>22}{m_groups:>7}{serve[q]:>19.3f}")
    u, g, alone, m_items, m_groups = tot
    print(f"{'all':<9}{u:>11}{u:>11}{g:>9}{alone:>7}{u / g:>6.2f}x{m_items:>22}{m_groups:>7}"
          f"{sum(serve.values()):>19.3f}")
    ratios = []
    for seed in range(a.seed, a.seed + a.seeds):      # one draw is one class: the ratio's spread over several
        per = load(groups.propose(synthetic_class(a.n, seed, a.singular)[0]))
        ratios.append(sum(r[1] for r in per) / sum(r[2] for r in per))
    if ratios:
        print(f"ratio over {len(ratios)} classes (seeds {a.seed}..{a.seed + len(ratios) - 1}): min {min(ratios):.2f}x, "
              f"median {statistics.median(ratios):.2f}x, mean {statistics.mean(ratios):.2f}x, "
              f"max {max(ratios):.2f}x")
    print(f"groups of the class proposed in {propose_s:.2f} s (the first call: sympy and the points set up); a "
          f"question's groups served from OUTDIR (its {a.n} JSONs read, the overrides replayed) in "
          f"{max(serve.values()):.3f} s at the most, {max(cold.values()):.3f} s on a first read (Q3's formulas "
          f"evaluated, not yet cached)")


if __name__ == "__main__":
    main()
