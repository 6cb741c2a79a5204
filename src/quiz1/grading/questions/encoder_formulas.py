"""Q4: encoder and decoder equations written in a section's Markdown, run on the TA's data.

A student may answer Q4 with formulas only ("$z = \\operatorname{atan2}(x_2, x_1)$, $\\hat x_1 = \\cos z$,
$\\hat x_2 = \\sin z$"). The equations of each Markdown cell (and of each pair of neighbouring cells, and of the
whole section) are read with ``latex_math``'s parser in a plain mode (every name a symbol; trigonometry, roots,
``atan2``), sorted into a decoder (every coordinate of the data, ``x_1 .. x_D``, ``x, y, z, w`` or ``X_k``,
written in terms of latent names) and an encoder (each latent name written in terms of the coordinates), and run
on the file with D columns: the round trip G(E(X)) is compared with X by the grader. Formulas count only when the
round trip is exact: a formula read wrongly must never make an answer wrong, so an inexact one is left to a human.
"""
from __future__ import annotations

import re

import numpy as np
import sympy as sp

from .latex_math import FORMULA, NotParsed, Parser, statements

NAME = re.compile(r"^\\?[A-Za-z]+\s*(?:_\s*\{?\s*[A-Za-z0-9, ]+\s*\}?)?$")
COORDINATES = {2: (("x", "y"),), 3: (("x", "y", "z"),), 4: (("x", "y", "z", "w"),)}


def _plain(tex: str) -> str:
    """Hats, tildes and primes dropped (a decoder writes \\hat x_1), ``atan2`` in every spelling as one command."""
    t = re.sub(r"\\(?:hat|widehat|tilde|widetilde|bar|overline)\s*\{\s*([A-Za-z])\s*\}|"
               r"\\(?:hat|widehat|tilde|widetilde|bar|overline)\s+([A-Za-z])", lambda m: m.group(1) or m.group(2), tex)
    t = re.sub(r"\\(?:operatorname|text|mathrm)\s*\{\s*(?:arc)?a?tan\s*2\s*\}|\\arctan\s*2|(?<![\\A-Za-z])(?:arc)?atan2",
               r"\\atantwo ", t)
    t = re.sub(r"\\tan\s*\^\s*\{\s*-\s*1\s*\}", r"\\arctan ", t)
    return re.sub(r"(?<=[A-Za-z0-9}])'+", "", t)


def _symbol(t: str, sub: str | None) -> sp.Symbol:
    return sp.Symbol(t.lstrip("\\") + (f"_{re.sub(r'[ ,{}]', '', sub)}" if sub else ""), real=True)


class PlainParser(Parser):
    """``latex_math.Parser`` with every name a plain symbol, and trigonometry, roots and atan2."""

    FUNCTIONS = {r"\cos": sp.cos, r"\sin": sp.sin, r"\tan": sp.tan, r"\arctan": sp.atan, r"\arccos": sp.acos,
                 r"\arcsin": sp.asin, r"\cosh": sp.cosh, r"\sinh": sp.sinh, r"\tanh": sp.tanh}

    def __init__(self, tex: str, defs: dict | None = None):
        super().__init__(_plain(tex), None, defs)

    def atom(self):
        t = self.peek()
        if t in self.FUNCTIONS:
            self.take()
            return self.FUNCTIONS[t](self.call_arg())
        if t == r"\sqrt":
            self.take()
            return sp.sqrt(self.call_arg())
        if t == r"\pi":
            self.take()
            return sp.pi
        if t == r"\atantwo":
            self.take()
            return sp.atan2(*self.pair("atan2"))
        return super().atom()

    def name(self):
        t, sub, sup = self.scripts(transposes=False)
        e = self.defs.get(_symbol(t, sub), _symbol(t, sub))
        return e ** PlainParser(sup, self.defs).parse() if sup is not None else e


def equations(formulas: list[str]) -> dict:
    """{name symbol: right side} of the equations ``name = ...`` in ``formulas`` (a chain's last readable side)."""
    out = {}
    for f in formulas:
        for sides in statements(_plain(f)):
            left = sides[0].strip()
            if not NAME.match(left):
                continue
            m = re.match(r"^(\\?[A-Za-z]+)\s*(?:_\s*\{?\s*([A-Za-z0-9, ]+?)\s*\}?)?$", left)
            for rhs in reversed(sides[1:]):
                try:
                    e = PlainParser(rhs).parse()
                except (NotParsed, TypeError, ValueError, AttributeError, sp.ShapeError, ZeroDivisionError):
                    continue
                if isinstance(e, sp.Expr):
                    out[_symbol(m.group(1), m.group(2))] = e
                    break
    return out


def _names(D: int):
    yield tuple(f"x_{k}" for k in range(1, D + 1))
    yield tuple(f"X_{k}" for k in range(1, D + 1))
    yield tuple(f"x_{k}" for k in range(D))
    yield from COORDINATES.get(D, ())


def round_trip(eqs: dict, X: np.ndarray) -> tuple[np.ndarray, str] | None:
    """G(E(X)) (n, D) from the encoder and decoder among ``eqs``, and the formulas used; None when ``eqs`` hold no
    complete pair for D = X.shape[1] coordinates."""
    D = X.shape[1]
    consts = {k: v for k, v in eqs.items() if not v.free_symbols}
    for names in _names(D):
        coords = [sp.Symbol(n, real=True) for n in names]
        dec = [eqs.get(c) for c in coords]
        if any(d is None for d in dec):
            continue
        dec = [d.subs(consts) for d in dec]
        latents = sorted(set().union(*(d.free_symbols for d in dec)), key=str)
        if not latents or len(latents) > D - 1 or set(latents) & set(coords):
            continue
        enc = [eqs.get(z) for z in latents]
        if any(e is None for e in enc):
            continue
        enc = [e.subs(consts) for e in enc]
        if not all(e.free_symbols <= set(coords) for e in enc):
            continue
        try:
            Z = [np.broadcast_to(sp.lambdify(coords, e, "numpy")(*X.T), (len(X),)) for e in enc]
            R = np.stack([np.broadcast_to(sp.lambdify(latents, d, "numpy")(*Z), (len(X),)) for d in dec], 1)
        except (TypeError, ValueError, NameError, ZeroDivisionError, AttributeError, KeyError):
            continue
        if np.isfinite(R).all():
            text = "; ".join(f"{z} = {sp.sstr(e)}" for z, e in zip(latents, enc)) + "; " + "; ".join(
                f"{c} = {sp.sstr(d)}" for c, d in zip(coords, dec))
            return R.astype(float), text
    return None


def markdown_round_trips(cells: list[list[str]], X: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Every complete encoder + decoder among the equations of one cell, two neighbouring cells, or all of them,
    run on X (n, D): [(G(E(X)), the formulas)]."""
    cells = [[f for text in c for f in (FORMULA.findall(text) or [text])] for c in cells]
    windows = list(cells) + [a + b for a, b in zip(cells, cells[1:])] + ([sum(cells, [])] if cells else [])
    out, seen = [], set()
    for w in windows:
        got = round_trip(equations(w), X)
        if got is not None and got[1] not in seen:
            seen.add(got[1])
            out.append(got)
    return out
