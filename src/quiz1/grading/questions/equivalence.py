"""Q3 by symbolic equivalence: the student's dL/dx, read by ``latex_math``, against quiz1's closed form at points.

The reference is ``solvers.symbolic_grad.evaluate`` (the closed form, checked there against torch autograd). The
points cover every ReLU region: a quarter in each sign pattern of (f_1, f_2); labels 0, 1 and soft in turn. Two
expressions equal at 64 such random points in float64 (to 1e-9) are the same function of the network's inputs
and weights for every practical purpose; one point where they differ is proof that they are not.

Which formula is the answer is read as a TA reads the rendered section (``rendered_markdown``: hidden formulas
are not there, the notebook's macros are applied): the section's equation chains in order, with the prose
between them. The answer is the last chain for dL/dx that the text does not disown ("not my answer:", "wrong
attempt:", struck through, under a "scratch" heading, followed by "(wrong)"); when it cannot be read, no earlier
chain takes its place. Chains offered with it as alternatives ("A or B", "either", "one of these", items of one
list) must read the same, else a human decides. The phrases are regular expressions written here: a TA's reading
of a few words around a formula, not a language model's; they err towards ``unverified``, never towards
``correct``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import sympy as sp

from ..reading.rendered_markdown import Formula, Text, read_markdown
from .latex_math import (
    MAPPINGS,
    Candidate,
    Mapping,
    NotParsed,
    Parser,
    einstein,
    gradient_side,
    normalise,
    parse,
    s_,
    statements,
    unwrap,
    y_,
)

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

    from ...solvers.symbolic_grad import evaluate

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
            if mapping.ones == 2 and any("ones vector" in n for n in parser.names):   # \mathbf 1 of the inputs' length
                readings.append((defs, replace(mapping, ones=3)))
            expr, summed = einstein(expr, free)
            if summed:
                parser.names.add(f"repeated {', '.join(summed)} summed (Einstein's convention)")
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
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, sp.ShapeError, AttributeError,
                RecursionError) as e:
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


# --------------------------------------------------------------------------
# which formula is the answer: the section read as a TA reads it

# words that disown the formula they introduce ("Not my answer:", "Wrong attempt:", "Incorrect:") or follow
DISOWN = re.compile(
    r"\bnot (?:my|the|our) (?:final |real |actual |correct |true )?(?:answer|solution|result)\b|"
    r"\b(?:wrong|incorrect|failed|erroneous|invalid|mistaken|discarded|abandoned|rejected|scrapped|bad|faulty|false) "
    r"(?:attempt|answer|try|version|derivation|formula|result|solution|guess|working|expression)s?\b|"
    r"^\W*(?:wrong|incorrect|false|invalid|not this one)\W*$|"
    r"\b(?:ignore|disregard)\s+(?:this|the following|it|that|what follows|the next one|below)(?:\s*(?:[:.!(]|$)|\s+"
    r"(?:cell|formula|part|section|attempt|one|line|derivation)\b)|\bplease ignore\b|"
    r"\b(?:do not|don't|dont|not to be) (?:grade|mark|count)\b|(?<!from )\bscratch\b|\bnot (?:the )?final\b|"
    r"\bthis (?:one )?is (?:wrong|incorrect|not (?:right|correct|it))\b|[\u274c\u2717\u2718]", re.I)
DISOWN_AFTER = re.compile(r"^\W*(?:(?:this|which|that|it)\s+)?(?:is|was)\s+(?:wrong|incorrect|not (?:right|correct|it|"
                          r"my answer|the answer))\b|^\W*(?:wrong|incorrect|not (?:my|the) answer|not this one)\b", re.I)
FORWARD = re.compile(r"\b(?:following|below|next|here)\b", re.I)
# words between two formulas for dL/dx that offer them as alternatives ("A or B", "either A or B", "maybe B")
HEDGE = re.compile(r"^\W*(?:or|either)\b|\bor\W*$|\bor (?:maybe|perhaps|possibly|else|alternatively)\b|\b(?:alternatively|"
                   r"maybe|perhaps|possibly|not sure|unsure|uncertain|either|one of|which one|can'?t decide|"
                   r"cannot decide|could also be|might be)\b", re.I)
# words that present a run of formulas as candidates ("one of these is right", "the options are")
COLLECTIVE = re.compile(r"\bone of (?:these|the following|them|those|the above)\b|\b(?:options|candidates|alternatives|"
                        r"possibilities|possible answers)\b|\bnot sure which\b|\bany of (?:these|them|the above)\b|"
                        r"\beither\b|\bpick one\b", re.I)
CLAUSES = re.compile(r"\n\s*\n|(?<=[.!?;,])\s+")
COMPACT = 80       # characters of prose between formulas still read as one run of them (a list of alternatives)
TEXT_IN_MATH = re.compile(r"\\(?:text\w*|mbox|mathrm)\s*\{([^{}]*)\}")
NAMES_IN_TEXT = re.compile(r"[A-Za-z]|(?i:relu|sigmoid|sgn|sign|diag|ce|loss|softmax|exp|tanh|max|step|heaviside|"
                           r"sigma|ln|log)")   # \text{ReLU} is a name in the formula, not words around it
NESTING = re.compile(r"\\(begin|end)\{(?:cases|[pbvBV]?matrix|array|smallmatrix)\}|\\[{}]|[{}]")


@dataclass
class Unit:
    """One equation chain of the section (``a = b = c``), with the prose before it and what the text says of it."""

    sides: list
    formula: Formula
    lead: str                       # the visible prose between the previous chain and this one
    heading: str = ""               # the last heading above it
    tail: str | None = None         # the prose between it and the next chain (or the next heading)
    disowned: str | None = None     # why the text disowns it
    cand: Candidate | None = None   # its last right side, when its left side is dL/dx (or dL/ds, dL/df)
    pos: int = 0
    notes: list = field(default_factory=list)


def _words_split(tex: str) -> list[tuple[str, str]]:
    """A formula cut at its top-level text (``\\text{or}``, ``\\mathrm{or}``): [("math", ...) | ("text", ...)]."""
    body = tex.strip().strip("$")
    out, depth, last, k = [], 0, 0, 0
    while k < len(body):
        m = NESTING.match(body, k)
        if m:
            depth += 1 if m.group(0) in ("{", r"\begin") or m.group(1) == "begin" else -1 if m.group(0) == "}" or \
                m.group(1) == "end" else 0
            k = m.end()
            continue
        t = TEXT_IN_MATH.match(body, k)
        if t and depth == 0 and (re.fullmatch(r"\s*(?:or|either|i\.e\.?)\s*", t.group(1)) or not t.group(0).startswith(
                r"\mathrm") and not re.fullmatch(NAMES_IN_TEXT, t.group(1).strip())):
            out += [("math", body[last:k]), ("text", " " + t.group(1) + " ")]
            last = k = t.end()
            continue
        k += 1
    out.append(("math", body[last:]))
    return [(kind, x) for kind, x in out if x.strip()]


def _chain_candidate(sides: list, formula: str) -> Candidate | None:
    """The last right side of a chain whose left side is dL/dx (dL/ds, dL/df_j), as a ``Candidate``."""
    for k, side in enumerate(sides[:-1]):
        g = gradient_side(side)
        if g is not None:
            rhs = [r for r in sides[k + 1:] if gradient_side(r) is None]
            return Candidate(g[0], g[1], rhs[-1], formula) if rhs else None
    return None


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in CLAUSES.split(text) if c.strip()]


def read_units(pieces: list) -> tuple[list[Unit], list[str]]:
    """The section's equation chains in reading order, with their prose; and notes on what was not read (hidden)."""
    units, prose, heading, heading_block, hidden = [], [], "", None, []
    block = None
    for p in pieces:
        if block is not None and p.block != block:
            prose.append("\n\n")
        block = p.block
        if isinstance(p, Text):
            if p.heading:                          # a heading ends what the prose before it says
                heading = heading + p.text if p.block == heading_block else p.text
                heading_block = p.block
                if units and units[-1].tail is None:
                    units[-1].tail = "".join(prose)
                prose = []
            else:
                prose.append(p.text)
            continue
        if p.hidden is not None:
            hidden.append(p.hidden)
            continue
        for kind, part in _words_split(p.tex):
            if kind == "text":
                prose.append(part)
                continue
            chains = statements(part)
            inside = re.match(r"(.+?)\\in(?![A-Za-z])(.+)", part.strip(), re.S)
            if not chains and inside and gradient_side(inside.group(1).strip()) is not None:
                chains = [[inside.group(1).strip(), "\\in " + inside.group(2).strip()]]   # dL/dx \in {A, B}
            elif not chains and units and units[-1].cand and HEDGE.search("".join(prose)):
                chains = [[units[-1].sides[0], part.strip()]]      # "dL/dx = A, or B": B is offered for dL/dx too
            for sides in chains:
                u = Unit(sides, p, "".join(prose), heading, pos=len(units))
                u.cand = _chain_candidate(sides, p.tex)
                if units and units[-1].tail is None:
                    units[-1].tail = u.lead
                units.append(u)
                prose = []
    if units and units[-1].tail is None:
        units[-1].tail = "".join(prose)
    _disown(units)
    return units, hidden


def _disown(units: list[Unit]) -> None:
    """Mark the chains the text disowns: struck through, crossed out whole, under a heading or after words that
    disown what follows ("Not my answer:"), or followed by words that disown it ("(wrong)")."""
    for k, u in enumerate(units):
        lead = _clauses(u.lead)
        tail = _clauses(u.tail or "")
        side = unwrap(u.cand.tex).strip() if u.cand else ""
        if u.formula.struck:
            u.disowned = "struck through"
        elif re.fullmatch(r"\\[bx]?cancel\s*\{.*\}", side, re.S):
            u.disowned = "crossed out (\\cancel)"
        elif u.heading and DISOWN.search(u.heading):
            u.disowned = f"under the heading '{u.heading.strip()[:60]}'"
        elif lead and DISOWN.search(lead[-1]) and (not lead[-1].endswith((".", "!")) or FORWARD.search(lead[-1])):
            u.disowned = f"introduced as '{lead[-1][:60]}'"
        elif tail and (DISOWN_AFTER.search(tail[0]) or DISOWN.search(tail[0])) and not tail[0].endswith(":"):
            u.disowned = f"followed by '{tail[0][:60]}'"
        elif k and not u.lead.strip() and units[k - 1].disowned and not units[k - 1].disowned.startswith("followed") \
                and units[k - 1].heading == u.heading:        # the next line of what was disowned, no word between
            u.disowned = units[k - 1].disowned


def _between(units: list[Unit], a: Unit, b: Unit) -> str:
    return " ".join(units[j].lead for j in range(a.pos + 1, b.pos + 1))


def _alternatives(units: list[Unit], own: list[Unit]) -> tuple[list[Unit], str]:
    """The formulas for dL/dx offered with the final one as alternatives, and how ("joined by 'or'", ...)."""
    final = own[-1]
    group, how = [], []
    for a, b in zip(reversed(own[:-1]), reversed(own)):
        text = _between(units, a, b)
        same_list = a.formula.item and b.formula.item and a.formula.item[:2] == b.formula.item[:2] and \
            a.formula.item != b.formula.item
        if HEDGE.search(text):
            how.append(f"joined by '{HEDGE.search(text).group(0).strip()}'")
        elif same_list:
            how.append("items of one list")
        else:
            break
        group.insert(0, a)
    run = [final]                                   # the compact run of formulas ending with the final one
    for a, b in zip(reversed(own[:-1]), reversed(own)):
        if len(_between(units, a, b).strip()) > COMPACT or a.heading != b.heading:
            break
        run.insert(0, a)
    said = [u.lead for u in run] + _clauses(final.tail or "")[:2]
    if len(run) > 1 and any(COLLECTIVE.search(t) for t in said):
        word = next(COLLECTIVE.search(t).group(0) for t in said if COLLECTIVE.search(t))
        how.append(f"offered as '{word}'")
        group = [u for u in run[:-1] if u not in group] + group
    return [u for u in own if u in group], "; ".join(dict.fromkeys(how))


def check_q3(formulas: list, n_points: int = N_POINTS) -> Q3Check:
    """The student's final dL/dx in a section against quiz1's closed form at ``n_points`` points.

    dL/dx_i = (sigma(s) - y) sum_j W1[i, j] (H(f_j) + W2_j), f = W1^T x (2,), s = ReLU(f_1) + ReLU(f_2) + W2 . f

    ``formulas``: the section as ``rendered_markdown`` pieces (``Text``, ``Formula``), or Markdown cells (str). The
    answer is the section's last formula for dL/dx (the last side of its chain) that the text does not disown; written
    component by component (x_1, x_2, x_3), the last formula for each. It is read as the TA sees it: hidden formulas
    are not read, and the answer is never taken from an earlier formula when the final one cannot be read.
    ``correct``: equal to the reference at every point under one mapping of the student's names; ``wrong``: parsed
    and unequal under every mapping (one point is quoted); ``unverified``: the final formula cannot be read, several
    different formulas are offered as the answer, or only dL/ds is written.
    """
    pieces = read_markdown(formulas) if all(isinstance(f, str) for f in formulas) else list(formulas)
    units, hidden = read_units(pieces)
    raw_defs = definitions([u for u in units if not u.disowned and not u.formula.problems])
    pts = points(n_points)
    notes = []
    if hidden:
        kinds = ", ".join(dict.fromkeys(hidden))
        notes.append(f"not read: {len(hidden)} formula(s) the TA does not see ({kinds[:160]})")
    xs = [u for u in units if u.cand and u.cand.kind == "x"]
    own = [u for u in xs if not u.disowned]
    if len(own) < len(xs):
        why = "; ".join(dict.fromkeys(u.disowned for u in xs if u.disowned))
        notes.append(f"{len(xs) - len(own)} formula(s) for dL/dx the text disowns ({why[:200]}) are not the answer")
    if not own:
        return _no_gradient(units, xs, raw_defs, pts, notes)
    final = own[-1]
    if final.cand.index and final.cand.index.isdigit():      # written by component: the last one of each
        finals = {}
        for u in reversed(own):
            if u.cand.index and u.cand.index.isdigit() and u.cand.index not in finals:
                finals[u.cand.index] = u
        finals = [finals[k] for k in sorted(finals)]
    else:
        finals = [final]
    checked = [(u, _check_unit(u, raw_defs, pts)) for u in finals]
    unread = [(u, r) for u, r in checked if r[0] == "unparsed"]
    if unread:
        u, r = unread[0]
        earlier = [x for x in own if x not in finals]
        return Q3Check("unverified", f"{_lhs(u.cand)} = {u.cand.tex[:300]}", _join(notes + [
            f"the gradient dL/dx is written but the grader could not read it, the section's final formula for it "
            f"({r[1]}): a human should read it"
            + (" (an earlier formula is not taken in its place)" if earlier else "")]))
    alts, how = _alternatives(units, own)
    alts = [u for u in alts if u not in finals]
    if alts:
        rs = [(u, _check_unit(u, raw_defs, pts)) for u in alts]
        rs = [(u, r) for u, r in rs if not (r[0] == "unparsed" and re.search(r"\\partial|\\nabla", u.cand.tex))]
        statuses = {r[0] for _, r in rs} | {r[0] for _, r in checked}
        if statuses - {"correct"} and statuses != {"wrong"}:
            shown = " | ".join(f"{_lhs(u.cand)} = {u.cand.tex[:120]}" for u in [*alts, *finals])
            return Q3Check("unverified", shown[:400], _join(notes + [
                f"{len(alts) + 1} different formulas for dL/dx are offered as the answer ({how}): which one is the "
                f"answer? a human should decide"]))
        if rs:
            notes.append(f"{len(rs)} other formula(s) offered with it ({how}) read the same way")
    return _verdict(checked, own, finals, pts, notes)


def _join(notes: list) -> str:
    return "; ".join(n for n in notes if n)


def _check_unit(u: Unit, raw_defs: dict, pts: list[Point]):
    if u.formula.problems:
        return "unparsed", "; ".join(u.formula.problems)[:200]
    if u.cand.tex.startswith("\\in"):
        return "unparsed", "dL/dx is said to lie in a set of formulas, not to equal one: which one is the answer?"
    return _check(u.cand, raw_defs, pts)


def _verdict(checked, own, finals, pts, notes) -> Q3Check:
    removed = [r for u in finals for r in u.formula.removed]
    if removed:
        notes = notes + [f"drawn invisibly and not read: {', '.join(removed)[:160]}"]
    if len(checked) > 1 or (finals[0].cand.index or "").isdigit():
        by_comp = {u.cand.index: (u, r) for u, r in checked}
        shown = "; ".join(f"{_lhs(u.cand)} = {_pretty(r[1])}" for k, (u, r) in sorted(by_comp.items()))
        wrong = [(u, r) for u, r in by_comp.values() if r[0] == "wrong"]
        if wrong:
            u, (_, _, _, (pt, (k, got, want))) = wrong[0]
            return Q3Check("wrong", shown[:400], _join([f"parsed, and not equal to the reference under any reading of "
                           f"the names: at {_where(pt)} {_lhs(u.cand)} is {got:.6g} where the reference gives {want:.6g}"]
                           + notes))
        missing = sorted({"1", "2", "3"} - set(by_comp))
        if missing:
            return Q3Check("unverified", shown[:400], _join([f"the components written are equal to the reference, but "
                           f"dL/dx_{', dL/dx_'.join(missing)} are not written: a human should decide"] + notes))
        mapping, parser = next(iter(by_comp.values()))[1][2:4]
        return Q3Check("correct", shown[:400], _join([_agree(len(pts), mapping, parser)] + notes))
    u, r = checked[0]
    if r[0] == "correct":
        return Q3Check("correct", f"{_lhs(u.cand)} = {_pretty(r[1])}", _join([_agree(len(pts), r[2], r[3])] + notes))
    _, expr, mapping, (pt, (k, got, want)) = r
    earlier = [g for g in own if g is not u]
    return Q3Check("wrong", f"{_lhs(u.cand)} = {_pretty(expr)}", _join([
        f"parsed, and not equal to the reference under any reading of the names: at {_where(pt)} component "
        f"{k} is {got:.6g} where the reference gives {want:.6g}"
        + (f" (the section writes {len(earlier)} other formula(s) for dL/dx)" if earlier else "")] + notes))


def _no_gradient(units, xs, raw_defs, pts, notes) -> Q3Check:
    if xs:
        u = xs[-1]
        return Q3Check("unverified", f"{_lhs(u.cand)} = {u.cand.tex[:300]}", _join(notes + [
            "every formula for dL/dx in the section is disowned by its text: no answer is given, a human should "
            "read it"]))
    partial = [u for u in units if u.cand and u.cand.kind in ("s", "f") and not u.disowned]
    if partial:
        c = partial[-1].cand
        what = "dL/ds" if c.kind == "s" else f"dL/df_{c.index}" if c.index else "dL/df"
        return Q3Check("unverified", f"{what} = {c.tex[:200]}", _join([
            f"stops at {what} ({_partial(c, raw_defs, pts[:16])}); no formula for dL/dx: the question's gradient is "
            f"not reached, partial marks are a human's call"] + notes))
    return Q3Check("unverified", None, _join(["no formula of the form dL/dx = ... in the section (nor dL/ds): "
                                              "a human should read the derivation"] + notes))


def definitions(units: list[Unit]) -> dict:
    """Raw definitions ``name = side = ...`` of the section's chains whose name is not the input, weights or label
    (``\\delta = \\sigma(s) - y``): (name, subscript, None) -> the sides after the name (``latex_math.definitions``)."""
    out = {}
    for u in units:
        left = normalise(u.sides[0])
        m = re.fullmatch(r"(\\[A-Za-z]+|[A-Za-z])\s*(?:_\s*\{?([a-z0-9]+)\}?)?", left)
        if not m or m.group(1) in ("x", "X", "W", "w", "y", "L", r"\sigma", "v", "u", "p", "e"):
            continue
        out[(m.group(1), m.group(2), None)] = u.sides[1:]
    return out


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
