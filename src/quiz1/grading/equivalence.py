"""Q3 by symbolic equivalence: the student's dL/dx, read by ``latex_math``, against quiz1's closed form at points.

The reference is ``solvers.symbolic_grad.evaluate`` (the closed form, checked there against torch autograd). The
points cover every ReLU region: a quarter in each sign pattern of (f_1, f_2); labels 0, 1 and soft in turn. Two
expressions equal at 64 such random points in float64 (to 1e-9) are the same function of the network's inputs
and weights for every practical purpose; one point where they differ is proof that they are not.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from .latex_math import FORMULA, MAPPINGS, Candidate, Mapping, NotParsed, Parser, candidates, definitions, parse, s_, y_

QUIZ_NAMES = ("s", "f", "h", "z", "o")   # names the mapping already gives the quiz's meaning
N_POINTS = 64      # 16 in each of the four sign patterns of (f_1, f_2): every ReLU region
REL_TOL = 1e-9


@dataclass(frozen=True)
class Point:
    """One point of the check: x (3,), W1 (3, 2), w2 (2,), y, with f = W1^T x (2,) and s."""

    x: object
    W1: object
    w2: object
    y: float
    f: object
    s: float
    grad: object       # quiz1's dL/dx (3,)


def points(n: int = N_POINTS, seed: int = 0) -> list[Point]:
    """``n`` random points, ``n / 4`` in each sign pattern of (f_1, f_2); labels 0, 1 and soft in turn."""
    import numpy as np

    from ..solvers.symbolic_grad import evaluate

    rng = np.random.default_rng(seed)
    want = {pat: n // 4 for pat in ((True, True), (True, False), (False, True), (False, False))}
    out = []
    while any(want.values()):
        x, W1, w2 = rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=2)
        f = W1.T @ x                                                   # (2,)
        pat = (bool(f[0] > 0), bool(f[1] > 0))
        if not want[pat]:
            continue
        want[pat] -= 1
        y = (0.0, 1.0, float(rng.uniform()))[len(out) % 3]
        s = float(np.maximum(f, 0).sum() + w2 @ f)
        out.append(Point(x, W1, w2, y, f, s, evaluate(x, W1, w2, y).dL_dx))
    return out


def _value(expr, pt: Point, mapping: Mapping, elementwise: dict, free: str | None, k: int | None, size: int = 3):
    """The student's expression at ``pt`` (component ``k`` of a component formula), as floats (size,) or a float."""
    import numpy as np

    W1 = pt.W1.T if mapping.w1_transposed else pt.W1
    mats = {"X": sp.ImmutableMatrix(pt.x.reshape(3, 1)), "W1": sp.ImmutableMatrix(W1),
            "W2": sp.ImmutableMatrix(pt.w2.reshape((1, 2) if mapping.w2_row else (2, 1))),
            "f": sp.ImmutableMatrix(pt.f.reshape(2, 1))}
    base = {"x": pt.x, "W^{(1)}": pt.W1, "W^{(2)}": pt.w2, "f": pt.f}   # components: resolve already swapped them
    scalars = {s_: sp.Float(pt.s, 30), y_: sp.Float(pt.y, 30)}

    subs = {sp.MatrixSymbol(n, *v.shape): v for n, v in mats.items()}

    def numeric(e):
        e = e.xreplace({sp.Symbol(free, integer=True): k}) if free and k is not None else e
        e = e.xreplace(scalars)
        if isinstance(e, sp.MatrixExpr | sp.MatrixBase):
            e = e.xreplace(subs)
            e = e.doit() if not isinstance(e, sp.MatrixBase) else e
            e = sp.ImmutableMatrix(e).applyfunc(lambda v: v.xreplace(scalars))
        reps = {}
        for a in e.atoms(sp.Indexed):
            if not all(i.is_Integer for i in a.indices):
                raise NotParsed(f"the index of {a} is left free")
            arr = base[str(a.base)]
            ix = tuple(int(i) - 1 for i in a.indices)
            if len(ix) != arr.ndim or any(i < 0 or i >= n for i, n in zip(ix, arr.shape)):
                raise NotParsed(f"{a} is out of range")
            reps[a] = sp.Float(float(arr[ix]), 30)
        return e.xreplace(reps)

    for name, (fn, arg) in elementwise.items():          # in the order they were read: later ones may use earlier
        got = numeric(arg)
        subs[sp.MatrixSymbol(name, *got.shape)] = sp.ImmutableMatrix(got).applyfunc(fn)
    v = numeric(expr)
    if isinstance(v, sp.MatrixBase):
        got = np.array(v.evalf(20), dtype=float).reshape(-1)
        if got.size != size:
            raise NotParsed(f"a {v.shape[0]}x{v.shape[1]} result where the gradient has {size} entries")
        return got
    if v.free_symbols:
        raise NotParsed(f"{', '.join(sorted(map(str, v.free_symbols)))} left unknown")
    return float(v.evalf(20))


@dataclass(frozen=True)
class Q3Check:
    """What was read of a student's Q3 and how it compares: ``status`` correct / wrong / unverified."""

    status: str
    found: str | None
    note: str


def _pretty(expr) -> str:
    text = " ".join(sp.sstr(expr).replace("W^{(1)}", "W1").replace("W^{(2)}", "W2").split())
    text = re.sub(r"1/\((?:exp\(-(\w+)\) \+ 1|1 \+ exp\(-(\w+)\))\)", lambda m: f"sigma({m.group(1) or m.group(2)})", text)
    text = re.sub(r"Heaviside\(([^,()]*(?:\[[^\]]*\])?), 0\)", r"H(\1)", text)
    return text if len(text) <= 240 else text[:237] + "..."


def _check(c: Candidate, raw_defs: dict, pts: list[Point]):
    """One candidate against the reference: ("correct", expr, mapping, parser) / ("wrong", expr, mapping, diff) /
    ("unparsed", reason)."""
    free = c.index if c.index and not c.index.isdigit() else None
    free = free or ("i" if re.search(r"_\s*\{?[^}=]*i", c.tex) else None)
    comps = [int(c.index)] if c.index and c.index.isdigit() else [1, 2, 3]
    first_wrong, reason = None, None
    # the student's own definitions of the quiz's quantities (s, f_j) only when the formula fails without them (they
    # are needed when a name means something else, s = sigma(z); without them the formula found reads as written)
    own = {k: v for k, v in raw_defs.items() if k[0] not in QUIZ_NAMES}
    readings = [(own, m) for m in MAPPINGS] + ([(raw_defs, m) for m in MAPPINGS] if own != raw_defs else [])
    for defs, mapping in readings:
        try:
            expr, parser = parse(c.tex, mapping, defs)
            diff = None
            for pt in pts:
                if isinstance(expr, sp.MatrixExpr | sp.MatrixBase):
                    got = _value(expr, pt, mapping, parser.elementwise, free, None)
                    got = got[[k - 1 for k in comps]] if len(comps) == 1 and got.size == 3 else got
                else:
                    got = [_value(expr, pt, mapping, parser.elementwise, free, k) for k in comps]
                want = [pt.grad[k - 1] for k in comps]
                bad = [(k, g, w) for k, g, w in zip(comps, got, want) if abs(g - w) > REL_TOL * (1 + abs(w))]
                if bad:
                    diff = (pt, bad[0])
                    break
        except NotParsed as e:
            reason = reason or str(e)
            continue
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, sp.ShapeError, AttributeError) as e:
            reason = reason or f"{e.__class__.__name__} while evaluating it"
            continue
        if diff is None:
            return "correct", expr, mapping, parser
        first_wrong = first_wrong or ("wrong", expr, mapping, diff)
    return first_wrong or ("unparsed", reason or "it could not be read")


def _lhs(c: Candidate) -> str:
    return f"dL/dx_{c.index}" if c.index else "dL/dX"


def _where(pt: Point) -> str:
    return (f"x = {_vec(pt.x)}, W1 = {_vec(pt.W1.reshape(-1))} (row by row), W2 = {_vec(pt.w2)}, y = {pt.y:.3g} "
            f"(f = {_vec(pt.f)}, s = {pt.s:.4g})")


def check_q3(formulas: list[str], n_points: int = N_POINTS) -> Q3Check:
    """The student's final dL/dx among ``formulas`` (LaTeX) against quiz1's closed form at ``n_points`` points.

    dL/dx_i = (sigma(s) - y) sum_j W1[i, j] (H(f_j) + W2_j), f = W1^T x (2,), s = ReLU(f_1) + ReLU(f_2) + W2 . f

    The answer is the section's last formula for dL/dx (the whole vector, or component i) whose right side parses
    (the last readable side of a chain); written component by component (x_1, x_2, x_3), the last formula for each.
    ``correct``: equal to the reference at every point under one mapping of the student's names; ``wrong``: parsed
    and unequal under every mapping (one point is quoted); ``unverified``: nothing parses, or only dL/ds is written.
    """
    formulas = [f for text in formulas for f in (FORMULA.findall(text) or [text])]   # Markdown text: its formulas
    cands = candidates(formulas)
    raw_defs = definitions(formulas)
    grads = [c for c in cands if c.kind == "x"]
    pts = points(n_points)
    first_reason = None
    for c in reversed(grads):
        if c.index and c.index.isdigit():          # written by component: the last readable one of each
            by_comp = {}
            for g in reversed(grads):
                if g.index == c.index or (g.index and g.index.isdigit() and g.index not in by_comp):
                    if g.index not in by_comp:
                        r = _check(g, raw_defs, pts)
                        if r[0] != "unparsed":
                            by_comp[g.index] = (g, r)
            if not by_comp:
                first_reason = first_reason or _check(c, raw_defs, pts)[1]
                continue
            wrong = [(g, r) for g, r in by_comp.values() if r[0] == "wrong"]
            shown = "; ".join(f"{_lhs(g)} = {_pretty(r[1])}" for _, (g, r) in sorted(by_comp.items()))
            if wrong:
                g, (_, _, _, (pt, (k, got, want))) = wrong[0]
                return Q3Check("wrong", shown[:400], f"parsed, and not equal to the reference under any reading of "
                               f"the names: at {_where(pt)} {_lhs(g)} is {got:.6g} where the reference gives {want:.6g}")
            missing = sorted({"1", "2", "3"} - set(by_comp))
            if missing:
                return Q3Check("unverified", shown[:400], f"the components written are equal to the reference, but "
                               f"dL/dx_{', dL/dx_'.join(missing)} are not written: a human should decide")
            mapping, parser = next(iter(by_comp.values()))[1][2:4]
            return Q3Check("correct", shown[:400], _agree(len(pts), mapping, parser))
        r = _check(c, raw_defs, pts)
        if r[0] == "correct":
            return Q3Check("correct", f"{_lhs(c)} = {_pretty(r[1])}", _agree(len(pts), r[2], r[3]))
        if r[0] == "wrong":
            _, expr, mapping, (pt, (k, got, want)) = r
            earlier = [g for g in grads if g is not c]
            return Q3Check("wrong", f"{_lhs(c)} = {_pretty(expr)}", (
                f"parsed, and not equal to the reference under any reading of the names: at {_where(pt)} component "
                f"{k} is {got:.6g} where the reference gives {want:.6g}"
                + (f" (the section writes {len(earlier)} other formula(s) for dL/dx)" if earlier else "")))
        first_reason = first_reason or r[1]
    if grads:
        return Q3Check("unverified", grads[-1].tex[:300], (
            f"the gradient dL/dx is written but the grader could not read it ({first_reason}): a human should read it"))
    partial = [c for c in cands if c.kind in ("s", "f")]
    if partial:
        c = partial[-1]
        what = "dL/ds" if c.kind == "s" else f"dL/df_{c.index}" if c.index else "dL/df"
        return Q3Check("unverified", f"{what} = {c.tex[:200]}", (
            f"stops at {what} ({_partial(c, raw_defs, pts[:16])}); no formula for dL/dx: the question's gradient is "
            f"not reached, partial marks are a human's call"))
    return Q3Check("unverified", None, "no formula of the form dL/dx = ... in the section (nor dL/ds): "
                                       "a human should read the derivation")


def _partial(c: Candidate, raw_defs: dict, pts: list[Point]) -> str:
    """Whether a derivation that stops at dL/ds (sigma(s) - y) or dL/df_j ((sigma(s) - y)(H(f_j) + W2_j)) is right."""
    import numpy as np

    right = "sigma(s) - y" if c.kind == "s" else "(sigma(s) - y)(1[f_j > 0] + W2_j)"
    free = c.index if c.index and not c.index.isdigit() else None
    comps = [int(c.index)] if c.index and c.index.isdigit() else [1] if c.kind == "s" else [1, 2]
    for mapping in MAPPINGS:
        try:
            expr, parser = parse(c.tex, mapping, raw_defs)
            ok = True
            for pt in pts:
                delta = 1 / (1 + np.exp(-pt.s)) - pt.y
                want = [delta] if c.kind == "s" else [delta * ((pt.f[j - 1] > 0) + pt.w2[j - 1]) for j in comps]
                if isinstance(expr, sp.MatrixExpr | sp.MatrixBase):
                    got = list(_value(expr, pt, mapping, parser.elementwise, None, None, size=len(want)))
                else:
                    got = [_value(expr, pt, mapping, parser.elementwise, free, k) for k in comps]
                ok &= all(abs(g - w) <= REL_TOL * (1 + abs(w)) for g, w in zip(got, want))
            if ok:
                return f"which equals {right}"
        except (NotParsed, TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, sp.ShapeError):
            continue
    return f"which is not {right}, or could not be read"


def _agree(n: int, mapping: Mapping, parser: Parser) -> str:
    names = sorted(parser.names)
    return (f"equal to the reference (sigma(s) - y) sum_j W1_ij (H(f_j) + W2_j) at {n} points, {n // 4} in each sign "
            f"pattern of (f_1, f_2), under the mapping: {mapping.describe()}"
            + (f"; names read: {', '.join(names)}" if names else ""))


def _vec(a) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in a) + "]"
