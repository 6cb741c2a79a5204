"""Q3's formula as a report's JSON holds it (its ``found``), evaluated at fixed points: equal formulas, equal values.

A Q3 verdict's ``found`` is the formula read, in one of two spellings: the sympy expression the grader built
(``equivalence._pretty``: ``dL/dx_i = (-y + sigma(s))*(W1[i, 1]*W2[1] + ...)``, ``dL/dX = ((-y + sigma(s))*W1)*W2``;
components joined by "; ") for a formula it compared, or the student's LaTeX (``dL/ds = \\sigma(s) - y``;
alternatives joined by " | ") for one it did not. Both are read back here: the LaTeX by ``latex_math`` into sympy and
``equivalence._value``, the sympy spelling by a small evaluator over Python's ``ast`` (``_Pretty``: the few
operations and functions ``_pretty`` prints, numpy underneath; written here because sympy's ``parse_expr`` calls
``eval`` on its input, and this text comes from a student's formula). Each is evaluated at ``N_POINTS`` fixed
random points, a quarter in each sign pattern of (f_1, f_2) (every ReLU region), under every reading of the names
the grader allows (W as given or transposed, W2 a column or a row), and rounded to six significant digits:
``signature``. Two formulas with the same signature are the same function of x, W1, W2 and y at points in every
region, whichever way they were written; one that leaves out the ReLU's path differs where f_j > 0.
"""
from __future__ import annotations

import ast
import functools
import math
import re

import numpy as np

N_POINTS = 8       # two in each sign pattern of (f_1, f_2)
SEED = 1           # not the check's points (``equivalence.points`` seed 0): a key is not the verdict
DIGITS = 6         # significant digits a value is rounded to
ZERO = 1e-9        # |value| below this reads as 0 (a term that vanishes, computed two ways)
SUM_MOST = 100     # terms of a Sum evaluated here (the quiz's indices run to 3; a formula's own bound may not)
PART = re.compile(r"^dL/d(?P<kind>[xXsf])(?:_(?P<index>\w+))?\s*=\s*(?P<rhs>.+)$", re.S)
SPLIT = re.compile(r"\s+\|\s+(?=dL/d)|;\s+(?=dL/d)")


class Unread(ValueError):
    """The formula cannot be evaluated here (truncated, a function or name this reader does not know)."""


@functools.lru_cache(maxsize=1)
def _points():
    from .equivalence import points

    return tuple(points(N_POINTS, seed=SEED))


def _round(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    return "0" if abs(v) < ZERO else f"{v:.{DIGITS}g}"


def parts(found: str | None) -> list[tuple[str, str | None, str]]:
    """(kind "x" / "s" / "f", index or None, right side) of each formula in ``found``; [] when it holds none."""
    if not found:
        return []
    out = []
    for piece in SPLIT.split(found.strip()):
        m = PART.match(piece.strip())
        if m is None:
            return []
        out.append((m["kind"].lower(), m["index"], m["rhs"].strip()))
    return out


def _comps(kind: str, index: str | None) -> list[int]:
    if index and index.isdigit():
        return [int(index)]
    return [1, 2, 3] if kind == "x" else [1] if kind == "s" else [1, 2]


def readings(kind: str, index: str | None, rhs: str, pretty: bool) -> dict:
    """{(W1 transposed, W2 a row): the values at the points, rounded} of one formula, for each reading of the names
    it evaluates under, in the grader's order (``latex_math.MAPPINGS``); ``pretty``: ``rhs`` is the grader's sympy
    spelling, else the student's LaTeX. ``Unread`` when it evaluates under none."""
    got = _pretty_values(kind, index, rhs) if pretty else _latex_values(kind, index, rhs)
    if not got:
        raise Unread("it evaluates under no reading of the names")
    return got


@functools.lru_cache(maxsize=4096)
def signature(found: str | None, pretty: bool) -> tuple[str, str] | None:
    """(what the formula gives: "dL/dx", "dL/dx_2", "dL/ds", "dL/df", " | " between alternatives; its values at the
    points under the first reading of the names it evaluates under, as the grader reads it) of ``found``, a text
    equal for two formulas exactly when they are; None when it holds no formula this module can evaluate.
    ``pretty``: ``found`` is the grader's sympy spelling (a formula it compared), else the student's LaTeX."""
    ps = parts(found)
    if not ps:
        return None
    try:
        vals = [(k, i, readings(k, i, rhs, pretty)) for k, i, rhs in ps]
    except Unread:
        return None
    if len(vals) > 1 and all(k == "x" and i and i.isdigit() for k, i, _ in vals):   # by component: one vector
        vals.sort(key=lambda t: int(t[1]))
        common = [m for m in vals[0][2] if all(m in v for _, _, v in vals)]
        if not common:
            return None
        m = common[0]
        joined = tuple(e for per_point in zip(*(v[m] for _, _, v in vals)) for e in per_point)
        vals = [("x", ",".join(i for _, i, _ in vals), {m: joined})]
    texts = []
    for k, i, v in vals:
        whole = not i or not i[0].isdigit() or (k == "x" and i == "1,2,3")
        lhs = "dL/d" + k + ("" if whole or k == "s" else f"_{i}")
        texts.append((lhs, f"{lhs} {next(iter(v.values()))!r}"))
    return " | ".join(dict.fromkeys(lhs for lhs, _ in texts)), " | ".join(sorted(t for _, t in texts))


# --------------------------------------------------------------------------
# the grader's sympy spelling, read with ``ast``

MAPPINGS = ((False, False), (True, False), (False, True), (True, True))   # (W1 transposed, W2 a row)


def _env(pt, w1t: bool, w2row: bool) -> dict:
    W1 = pt.W1.T if w1t else pt.W1                                            # (3, 2) or (2, 3)
    return {"x": pt.x.reshape(3, 1), "X": pt.x.reshape(3, 1), "W1": W1,
            "W2": pt.w2.reshape((1, 2) if w2row else (2, 1)), "f": pt.f.reshape(2, 1),
            "s": float(pt.s), "y": float(pt.y), "E": math.e, "pi": math.pi}


def _pretty_values(kind: str, index: str | None, rhs: str) -> dict:
    try:
        tree = ast.parse(rhs, mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise Unread("syntax: not the grader's sympy spelling") from None
    free = index if index and not index.isdigit() else None
    comps = _comps(kind, index)
    out = {}
    for m in MAPPINGS:
        try:
            vals = []
            for pt in _points():
                env = _env(pt, *m)
                if free:
                    got = [_as_values(_Pretty(env | {free: k}).eval(tree.body), 1) for k in comps]
                    vals += [g[0] for g in got]
                else:
                    vals += list(_as_values(_Pretty(env).eval(tree.body), len(comps)))
            out[m] = tuple(_round(v) for v in vals)
        except Unread as e:
            if "unknown" in str(e):
                raise
            continue
        except (ValueError, TypeError, IndexError, ZeroDivisionError, OverflowError, RecursionError,
                np.linalg.LinAlgError):
            continue
    if not out:
        raise Unread("it evaluates under no reading of the names")
    return out


def _as_values(v, size: int) -> list[float]:
    """A value as ``size`` floats: a scalar stands for every component (as ``equivalence._check`` reads it)."""
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return [float(a)] * size
    a = a.reshape(-1)
    if a.size == size:
        return [float(e) for e in a]
    if a.size == 3 and size == 1:
        raise ValueError("a vector where one component is written")
    raise ValueError(f"{a.size} values where {size} are expected")


def _heaviside(a, h0=0.5):
    a = np.asarray(a, dtype=float)
    return np.where(a > 0, 1.0, np.where(a < 0, 0.0, float(h0)))


def _sigma(a):
    return 1 / (1 + np.exp(-np.asarray(a, dtype=float)))


FUNCTIONS = {
    "sigma": _sigma, "H": lambda a: _heaviside(a, 0.0), "Heaviside": _heaviside,
    "ReLU": lambda a: np.maximum(np.asarray(a, dtype=float), 0.0),
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "Abs": np.abs, "sign": np.sign, "tanh": np.tanh,
    "Max": lambda *a: functools.reduce(np.maximum, a), "Min": lambda *a: functools.reduce(np.minimum, a),
    "DiagMatrix": lambda v: np.diagflat(np.asarray(v, dtype=float)),
    "Transpose": lambda a: np.asarray(a).T,
    "Identity": lambda n: np.eye(int(n)), "OneMatrix": lambda r, c: np.ones((int(r), int(c))),
    "ZeroMatrix": lambda r, c: np.zeros((int(r), int(c))),
    "Matrix": lambda rows: np.array(rows, dtype=float).reshape(len(rows), -1),
}


def _is_matrix(v) -> bool:
    return isinstance(v, np.ndarray) and v.ndim == 2


class _Pretty:
    """Evaluate the grader's sympy spelling of a formula (an ``ast`` expression) with numpy values: ``*`` a matrix
    product between matrices, element-wise functions, 1-based indices, ``Sum`` and ``Piecewise``; ``Unread`` for
    anything else (no attribute but ``.T``, no call but ``FUNCTIONS``, no name but the quiz's)."""

    def __init__(self, env: dict):
        self.env = env

    def eval(self, node):
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unread(f"unknown syntax {type(node).__name__}")
        return method(node)

    def _Constant(self, node):
        if isinstance(node.value, bool):
            return node.value
        if not isinstance(node.value, (int, float)):
            raise Unread(f"unknown constant {node.value!r}")
        return float(node.value)

    def _Name(self, node):
        if node.id == "True":
            return True
        if node.id not in self.env:
            raise Unread(f"unknown name {node.id}")
        return self.env[node.id]

    def _List(self, node):
        return [self.eval(e) for e in node.elts]

    _Tuple = _List

    def _Attribute(self, node):
        if node.attr != "T":
            raise Unread(f"unknown attribute {node.attr}")
        v = self.eval(node.value)
        if not _is_matrix(v):
            raise ValueError("a transpose of a scalar")
        return v.T

    def _Subscript(self, node):
        base = self.eval(node.value)
        idx = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        ix = [int(self.eval(i)) - 1 for i in idx]
        if not _is_matrix(base) or any(i < 0 for i in ix):
            raise IndexError("an index out of range")
        if len(ix) == 1 and 1 in base.shape:       # a vector's component (a column or a row)
            return float(base.reshape(-1)[ix[0]])
        if len(ix) != 2:
            raise IndexError("the number of indices")
        return float(base[ix[0], ix[1]])

    def _UnaryOp(self, node):
        v = self.eval(node.operand)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return v
        raise Unread("unknown operator")

    def _BinOp(self, node):
        a, b = self.eval(node.left), self.eval(node.right)
        op = type(node.op).__name__
        if op in ("Add", "Sub"):
            if _is_matrix(a) != _is_matrix(b) or _is_matrix(a) and a.shape != b.shape:
                raise ValueError("a sum of a scalar and a matrix, or of matrices of two shapes")
            return a + b if op == "Add" else a - b
        if op == "Mult":
            return a @ b if _is_matrix(a) and _is_matrix(b) else a * b
        if op == "Div":
            if _is_matrix(b):
                raise ValueError("a division by a matrix")
            return a / b
        if op == "Pow":
            if _is_matrix(b):
                raise ValueError("a matrix exponent")
            if _is_matrix(a):
                return np.linalg.matrix_power(a, int(b))
            return a ** b
        if op in ("BitAnd", "BitOr"):
            return (a and b) if op == "BitAnd" else (a or b)
        raise Unread(f"unknown operator {op}")

    def _Compare(self, node):
        left, ok = self.eval(node.left), True
        for op, right_node in zip(node.ops, node.comparators):
            right = self.eval(right_node)
            name = type(op).__name__
            ok = ok and {"Gt": left > right, "GtE": left >= right, "Lt": left < right, "LtE": left <= right,
                         "Eq": left == right, "NotEq": left != right}[name]
            left = right
        return bool(ok)

    def _Call(self, node):
        if not isinstance(node.func, ast.Name):
            raise Unread("unknown call")
        name = node.func.id
        if node.keywords:
            raise Unread(f"unknown keywords of {name}")
        if name == "Sum":                   # Sum(body, (j, 1, 2), ...): the body evaluated for each index
            return self._sum(node.args[0], node.args[1:])
        if name == "Piecewise":             # Piecewise((value, condition), ..., (value, True))
            for pair in node.args:
                if not isinstance(pair, ast.Tuple) or len(pair.elts) != 2:
                    raise Unread("unknown Piecewise")
                if self.eval(pair.elts[1]):
                    return self.eval(pair.elts[0])
            raise ValueError("no case of a Piecewise holds")
        if name == "HadamardProduct":
            args = [self.eval(a) for a in node.args]
            if not all(_is_matrix(a) for a in args) or len({a.shape for a in args}) != 1:
                raise ValueError("a Hadamard product of matrices of two shapes")
            return functools.reduce(np.multiply, args)
        if name in ("And", "Or"):
            vals = [bool(self.eval(a)) for a in node.args]
            return all(vals) if name == "And" else any(vals)
        if name not in FUNCTIONS:
            raise Unread(f"unknown function {name}")
        return FUNCTIONS[name](*[self.eval(a) for a in node.args])

    def _sum(self, body, limits):
        if not limits:
            return self.eval(body)
        lim = limits[0]
        if not (isinstance(lim, ast.Tuple) and len(lim.elts) == 3 and isinstance(lim.elts[0], ast.Name)):
            raise Unread("unknown Sum")
        var, lo, hi = lim.elts[0].id, int(self.eval(lim.elts[1])), int(self.eval(lim.elts[2]))
        if hi - lo > SUM_MOST:
            raise Unread(f"unknown Sum over {hi - lo + 1} terms")
        total = 0.0
        saved = self.env.get(var)
        try:
            for k in range(lo, hi + 1):
                self.env[var] = float(k)
                total = total + self._sum(body, limits[1:])
        finally:
            if saved is None:
                self.env.pop(var, None)
            else:
                self.env[var] = saved
        return total


# --------------------------------------------------------------------------
# the student's LaTeX, read by ``latex_math``

def _latex_values(kind: str, index: str | None, rhs: str) -> dict:
    import sympy as sp

    from .equivalence import _value
    from .latex_math import MAPPINGS as READINGS
    from .latex_math import NotParsed, einstein, parse

    free = index if index and not index.isdigit() else None
    free = free or ("i" if kind == "x" and re.search(r"_\s*\{?[^}=]*i", rhs) else None)
    comps = _comps(kind, index)
    size = 3 if kind == "x" else len(comps)
    out = {}
    for mapping in READINGS:
        try:
            expr, parser = parse(rhs, mapping, {})
            expr, _ = einstein(expr, free)
            vals = []
            for pt in _points():
                if isinstance(expr, sp.MatrixExpr | sp.MatrixBase):
                    got = _value(expr, pt, mapping, parser.elementwise, free, None, size=size)
                    got = list(got[[k - 1 for k in comps]] if len(comps) == 1 and got.size == 3 else got)
                else:
                    got = [_value(expr, pt, mapping, parser.elementwise, free, k) for k in comps]
                vals += got
            out[(mapping.w1_transposed, mapping.w2_row)] = tuple(_round(float(v)) for v in vals)
        except (NotParsed, TypeError, ValueError, ZeroDivisionError, OverflowError, sp.ShapeError, AttributeError,
                RecursionError, IndexError):
            continue
    return out
