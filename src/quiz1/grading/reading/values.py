"""Numbers as students print them, and whether one is the reference.

Output text comes in every common form: ``48.7892``, ``Average CE loss = 48.7892``,
``Mean CE: 48.7892.`` (a sentence's full stop), ``Total: 2,439.46`` (thousands
separators), ``1.5e+01``, ``tensor([15.0000, 22.2000, 31.4000], grad_fn=<AddBackward0>)``,
``array([...])``, ``[48.7892]``, a DataFrame's rows. A number is read with the
digits it was printed with (``Decimal``), so "48.79" is checked to two decimals
and "48.78923" to five. Written by hand: no library reads numbers out of free
text with their printed precision.
"""
from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# a number not glued to a name ("float64", "Q1", "AddBackward0" hold none); "2,439.46" is one number, and a full
# stop after a number ends the sentence ("48.7892.")
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
                    r"(?!\w)(?!\.\d)(?!,\d{3})")
BRACKETS = re.compile(r"\[([^\[\]]*)\]")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MIN_DIGITS = 3
FLOAT32_REL = 1e-6   # a float32 computation printed with many digits differs from float64 about this much


@dataclass(frozen=True)
class Printed:
    """One printed number: its value, the text it was printed as, half a unit of its last digit, significant digits."""

    value: float
    text: str
    half_ulp: float
    digits: int


def read_number(text: str) -> Printed | None:
    """``text`` as a ``Printed`` number (thousands separators dropped), or None when it is not a finite number."""
    try:
        d = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    t = d.as_tuple()
    if not d.is_finite() or not -300 < d.adjusted() < 300 or not -300 < t.exponent < 300:  # "5e312" in a hex token
        return None
    digits = len(str(int("".join(map(str, t.digits)) or "0")))
    return Printed(float(d), text, 0.5 * 10.0 ** t.exponent, digits)


def numbers(text: str) -> list[Printed]:
    """Every number printed in ``text``, in order."""
    return [p for p in (read_number(m.group()) for m in NUMBER.finditer(ANSI.sub("", text))) if p is not None]


def vectors(text: str, size: int) -> list[list[Printed]]:
    """Every printed vector of ``size`` numbers: a bracketed list (tensor, array, list), or ``size`` numbers in a row
    (on one line, one a line, or as a column such as a (3, 1) tensor)."""
    text = ANSI.sub("", text)
    out = []
    for m in BRACKETS.finditer(text):
        vals = numbers(m.group(1))
        if len(vals) == size:
            out.append(vals)
    vals = numbers(text)
    out += [vals[i:i + size] for i in range(len(vals) - size + 1)]
    return out


def matches(p: Printed, ref: float, min_digits: int = MIN_DIGITS) -> bool:
    """``p`` is ``ref`` rounded to the digits printed (at least ``min_digits`` significant ones, unless the print is
    exact), or ``ref`` to float32 round-off."""
    err = abs(p.value - ref)
    if err <= 1e-12 * max(1.0, abs(ref)):
        return True
    if p.digits < min_digits:
        return False
    return err <= p.half_ulp * (1 + 1e-9) or err <= FLOAT32_REL * abs(ref)


def vector_matches(vals: list[Printed], ref) -> bool:
    return len(vals) == len(ref) and all(matches(p, float(r)) for p, r in zip(vals, ref))


def without_comments(source: str) -> str:
    """``source`` with its comments blanked (``tokenize``; a cell that does not tokenize, e.g. one with a magic, loses
    what follows a ``#`` outside quotes on each line)."""
    lines = source.splitlines(keepends=True)
    try:
        comments = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        return re.sub(r"#[^'\"\n]*$", "", source, flags=re.M)
    for t in comments:
        (row, col), (_, end) = t.start, t.end
        lines[row - 1] = lines[row - 1][:col] + " " * (end - col) + lines[row - 1][end:]
    return "".join(lines)


def literal_in_code(p: Printed, source: str, min_digits: int = MIN_DIGITS) -> bool:
    """``p`` is a number typed into ``source`` (comments aside; with at least ``min_digits`` significant digits, the
    same bar as ``matches``), as printed or rounded: a value typed in, not computed."""
    return any(lit.digits >= min_digits and (abs(p.value - lit.value) <= p.half_ulp * (1 + 1e-9))
               for lit in numbers(without_comments(source)))
