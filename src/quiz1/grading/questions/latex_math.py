"""Q3: read a student's gradient from the LaTeX of their notebook, in their notation, as a sympy expression.

Why a parser written here. sympy's two LaTeX parsers fail on the notation of
this question: with ANTLR, ``W^{(1)}_{ij}`` becomes ``W**1``, ``W_{ij}(H(f_j)+v_j)``
a call of a function ``W_{ij}``, ``\\hat y`` the product ``hat*y``, and
``\\mathbb 1[f_j>0]`` loses its ``\\mathbb``; the Lark backend rejects ``\\sigma(s)``
and ``\\left(``; latex2sympy2 is the same ANTLR grammar. So a small recursive
descent parser reads the subset a gradient is written in (sums, fractions,
``\\exp``, sigmoid and ReLU in their usual spellings, indicators and Heaviside,
case splits, transposes, Hadamard and matrix products, column vectors) and
builds sympy expressions: ``IndexedBase`` components in component form,
``MatrixSymbol`` products (order and shapes kept) in matrix form.

The notation mapping. Names are read onto the quiz's: ``x_i``/``X``/``\\mathbf x``
the input; ``W^{(1)}_{ij}``, ``w_{ij}``, ``W_{ij}``, ``W_1`` the first layer (from
x_i to f_j, or its transpose: both are tried); ``W^{(2)}_j``, ``W^{(2)}_{j1}``,
``v_j``, ``u_j``, ``w_j``, ``W_2`` the second; ``f_j``/``h_j``/``z_j`` the hidden
pre-activations; ``s`` (or ``z``) the output; ``\\sigma(\\cdot)``,
``\\hat y``, ``p``, ``\\mathrm{sigmoid}``, ``1/(1+e^{-s})`` the sigmoid; ``y`` the
label; ``\\mathrm{ReLU}``, ``\\max(0, \\cdot)`` the ReLU; ``\\mathbb 1[\\cdot>0]``,
``H``, ``\\Theta``, ``\\mathrm{ReLU}'`` and a ``cases`` split its derivative.
A name defined in the section (``\\delta = \\sigma(s) - y``) is substituted.
Anything else is not guessed: the formula is "not parsed", with the reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

LOSS = r"(?:L|\\ell|l|J|E|CE|\\mathcal\{?[LJE]\}?|\\mathscr\{?L\}?|\\(?:text|mathrm|operatorname)\{(?:CE|L|Loss|loss)\})"
INDEX_NAMES = "ijkmn"
SPACING = re.compile(r"(?<!\\)\\(?:[,;:! ]|quad|qquad|displaystyle|textstyle|limits|nolimits|mathstrut|hspace\{[^}]*\})")
SIZING = re.compile(r"\\(?:left|right|[bB]igg?[lrm]?)(?![A-Za-z])\s*\.?")


FORMULA = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$|\\begin\{(?:equation|align|aligned|gather)\*?\}.+?"
                     r"\\end\{(?:equation|align|aligned|gather)\*?\}", re.S)


class NotParsed(ValueError):
    """The formula could not be read; the message says where and why."""


x_ = sp.IndexedBase("x")
W1_ = sp.IndexedBase("W^{(1)}")
w2_ = sp.IndexedBase("W^{(2)}")
f_ = sp.IndexedBase("f")
s_, y_ = sp.symbols("s y", real=True)


def sigmoid(a):
    return 1 / (1 + sp.exp(-a))


def relu(a):
    return sp.Max(0, a)


def step(a):
    """ReLU's derivative, with H(0) = 0 (torch's convention)."""
    return sp.Heaviside(a, 0)


@dataclass(frozen=True)
class Mapping:
    """One reading of the student's names: the first layer as given or transposed; W2 as a column or a row."""

    w1_transposed: bool = False
    w2_row: bool = False
    ones: int = 2              # the length of a ones vector \mathbf 1 (the hidden layer's, or the input's)

    def describe(self) -> str:
        return ("W_{ab} read as the weight from f_a to x_b (W^{(1)} transposed)" if self.w1_transposed else
                "W_{ab} read as the weight from x_a to f_b") + ("; W^{(2)} a row" if self.w2_row else "") + (
                f"; \\mathbf 1 a ones vector of length {self.ones}" if self.ones != 2 else "")


MAPPINGS = (Mapping(), Mapping(True), Mapping(False, True), Mapping(True, True))


# --------------------------------------------------------------------------
# normalising the LaTeX

def normalise(tex: str) -> str:
    """One spelling for each of the common LaTeX variants (sizing, spacing, bold, text names, loss names)."""
    t = tex.strip().strip("$")
    t = re.sub(r"\\(?:begin|end)\{(?:equation|align|aligned|gather|gathered|split|multline)\*?\}", " ", t)
    t = re.sub(r"\\(?:boxed|color\{[^}]*\}|textcolor\{[^}]*\})(?=\{)", "", t)
    t = re.sub(r"\\(?:tag|label)\{[^}]*\}|\\(?:nonumber|notag)(?![A-Za-z])", "", t)
    t = re.sub(r"\\[bx]?cancel(?=\s*\{)", "", t)          # a term cancelled in a derivation still reads
    t = SIZING.sub("", t)
    t = SPACING.sub(" ", t)
    t = re.sub(r"\\(?:dfrac|tfrac|cfrac)", r"\\frac", t)
    t = re.sub(r"\\(?:mathbf|boldsymbol|bm|vec|mathit|mathsf|underline)\s*\{\s*([A-Za-z])\s*\}", r"\1", t)
    t = re.sub(r"\\(?:mathbf|boldsymbol|bm|vec)\s+([A-Za-z])", r"\1", t)
    t = re.sub(r"\\(?:hat|widehat)\s*\{\s*([yp])\s*\}|\\(?:hat|widehat)\s+([yp])", r"\\yhat ", t)
    t = re.sub(r"\\(?:mathbb|mathbf|mathds|mathbbm)\s*(?:\{\s*[1I]\s*\}|[1I])|\\(?:boldsymbol|bm|vec)\s*(?:\{\s*1\s*\}|1)",
               r"\\ind ", t)
    t = re.sub(r"\\(?:text|mathrm|operatorname|textrm|mathit|textit)\s*\{\s*([A-Za-z]+)\s*\}",
               lambda m: "\\" + m.group(1).lower() + " " if len(m.group(1)) > 1 else m.group(1), t)
    t = re.sub(r"\\(?:text|mathrm)\s*\{[^}]*\}", " ", t)   # words in text: "if", "for all j"
    t = re.sub(r"(?<![\\A-Za-z])(ReLU|Relu|relu|RELU|sigmoid|Sigmoid|diag|sgn)(?![A-Za-z])",
               lambda m: "\\" + m.group(1).lower() + " ", t)
    t = re.sub(r"\\(?:mathcal|mathscr)\s*(?:\{\s*[LJE]\s*\}|[LJE])", "L", t)
    t = re.sub(r"\\ell(?![A-Za-z])|\\ce(?![A-Za-z])|\\loss(?![A-Za-z])|(?<![\\A-Za-z])CE(?![A-Za-z])", "L", t)
    t = re.sub(r"\\(?:cdot|times|ast|cdotp)(?![A-Za-z])|\*", r" \\cdot ", t)
    t = re.sub(r"\\(?:odot|circ|otimes)(?![A-Za-z])", r" \\odot ", t)
    t = re.sub(r"\\(?:top|intercal|mathsf\{T\}|mathrm\{T\})(?![A-Za-z])", "T", t)
    t = re.sub(r"\\(?:geq|ge)(?![A-Za-z])|≥", ">=", t)
    t = re.sub(r"\\(?:leq|le)(?![A-Za-z])|≤", "<=", t)
    t = re.sub(r"\\gt(?![A-Za-z])", ">", t)
    t = re.sub(r"\\lt(?![A-Za-z])", "<", t)
    t = re.sub(r"\\prime(?![A-Za-z])", "'", t)
    t = t.replace("−", "-").replace("σ", r"\sigma ").replace("∂", r"\partial ").replace("·", r" \cdot ")
    return re.sub(r"\s+", " ", t).strip()


def _top_split(t: str, seps: re.Pattern) -> list[str]:
    """Split ``t`` at the matches of ``seps`` that lie outside every bracket and environment."""
    out, depth, env, start, k = [], 0, 0, 0, 0
    while k < len(t):
        m = seps.match(t, k)
        if t.startswith("\\begin", k):
            env += 1
        elif t.startswith("\\end", k):
            env -= 1
        elif t[k] in "({[" and not t.startswith("\\{", k - 1 if k else 0):
            depth += 1
        elif t[k] in ")}]":
            depth -= 1
        if m and depth <= 0 and env <= 0 and m.end() > k:
            out.append(t[start:k])
            start = k = m.end()
            continue
        k += 1
    out.append(t[start:])
    return [s.strip() for s in out if s.strip()]


STATEMENTS = re.compile(r"\\\\|\\quad|\\qquad|;|,\s*(?=\\frac|\\partial|\\nabla|[ijk]\s*(?:=|\\in(?![A-Za-z])))|"
                        r"\\(?:Rightarrow|implies|Longrightarrow|text\{[^}]*\}|iff|therefore|forall)(?![A-Za-z])|\\and(?![A-Za-z])|\\where(?![A-Za-z])")


CONTINUES = re.compile(r"(?:[-+*]|\\(?:cdot|times|odot|circ|ast)(?![A-Za-z]))")
OPEN_END = re.compile(r"(?:[-+*]|\\(?:cdot|times|odot)(?![A-Za-z]))\s*$")


def _one_line(side: str) -> str:
    """A side broken over lines inside brackets (``\\Big[a \\\\ &\\quad + b\\Big]``) as one line; the rows of a
    matrix or a case split (inside ``\\begin ... \\end``) are kept."""
    out, env, k = [], 0, 0
    while k < len(side):
        if side.startswith("\\begin", k):
            env += 1
        elif side.startswith("\\end", k):
            env -= 1
        elif env <= 0 and (side.startswith("\\\\", k) or side[k] in "&;"):   # ";": a \quad inside brackets
            out.append(" ")
            k += 2 if side[k] == "\\" else 1
            continue
        out.append(side[k])
        k += 1
    return "".join(out)


def unwrap(t: str, commands=("boxed", "displaystyle")) -> str:
    """``t`` without the wrappers ``\\boxed{...}`` (and the like): their braces go, their content stays."""
    for cmd in commands:
        while (k := t.find("\\" + cmd + "{")) >= 0:
            start = k + len(cmd) + 1
            depth, end = 0, start
            for end in range(start, len(t)):
                depth += (t[end] == "{") - (t[end] == "}")
                if depth == 0:
                    break
            t = t[:k] + t[start + 1:end] + t[end + 1:]
    return t


def statements(formula: str) -> list[list[str]]:
    """The equation chains of one formula: each a list of the sides between top-level ``=`` signs."""
    t = re.sub(r"\\q?quad(?![A-Za-z])", ";", unwrap(formula.strip().strip("$")))
    t = SPACING.sub(" ", t)
    t = re.sub(r"\\(?:begin|end)\{(?:equation|align|aligned|gather|gathered|split|multline)\*?\}", lambda m: " \\\\ ", t)
    t = re.sub(r"&\s*=|=\s*&", "=", t)
    t = re.sub(r"\\(?:text|mathrm)\{\s*(?:and|where|with|so|thus|hence|for)\b[^}]*\}", r"\\qquad ", t)
    t = re.sub(r"\\(?:nonumber|notag)(?![A-Za-z])", " ", t)
    chains, last = [], None
    for stmt in _top_split(t, STATEMENTS):
        head = re.sub(r"^(?:\s|&|\{\})+", "", stmt)
        if not head.strip(" ,."):
            continue
        sides = [_one_line(s).strip(" ,.&") for s in _top_split(head, re.compile(r"=(?!=)"))]
        if chains and head.startswith("="):      # an aligned line "&= ..." continues the chain above
            chains[-1] += [s for s in sides if s]
            last = chains[-1]
        elif last is not None and (CONTINUES.match(head) or OPEN_END.search(last[-1])):
            # a line "&\quad + ..." (or after a line ending in "+") continues the last side of the chain above
            last[-1] = last[-1] + " " + sides[0]
            last += [s for s in sides[1:] if s]
        elif len(sides) >= 2:
            chains.append(sides)
            last = sides
        else:
            last = None
    return chains


# --------------------------------------------------------------------------
# which quantity an equation's left side is

GRAD_X = [re.compile(p) for p in (
    r"^\\frac\s*\{\s*(?:\\partial|d|\\mathrm\{d\})\s*" + LOSS + r"(?:\([^)]*\))?\s*\}\s*\{\s*(?:\\partial|d|\\mathrm\{d\})\s*"
    r"(?:\\mathbf\{?|\\boldsymbol\{?|\\vec\{?)?[xX]\}?\s*(?:_\s*\{?\s*(?P<idx>[a-z0-9])\s*\}?)?\s*\}$",
    r"^\\partial\s*" + LOSS + r"\s*/\s*\\partial\s*(?:\\mathbf\{?)?[xX]\}?\s*(?:_\s*\{?\s*(?P<idx>[a-z0-9])\s*\}?)?$",
    r"^\\nabla\s*_\s*\{?\s*(?:\\mathbf\{?|\\boldsymbol\{?|\\vec\{?)?[xX]\}?\s*\}?\s*" + LOSS + r"(?:\([^)]*\))?$",
    r"^\\nabla\s*" + LOSS + r"\s*\(\s*(?:\\mathbf\{?)?[xX]\}?\s*\)$",
)]
GRAD_F = re.compile(r"^\\frac\s*\{\s*\\partial\s*" + LOSS + r"\s*\}\s*\{\s*\\partial\s*(?:f|h|z)\s*(?:_\s*\{?\s*(?P<idx>[a-z0-9])"
                    r"\s*\}?)?\s*\}$")
GRAD_S = re.compile(r"^\\frac\s*\{\s*\\partial\s*" + LOSS + r"\s*\}\s*\{\s*\\partial\s*(?:s|z|o)\s*\}$")


def gradient_side(side: str) -> tuple[str, str | None] | None:
    """("x", index: "i" / "1" / None for the whole vector) when ``side`` is dL/dx, ("s", None) when it is dL/ds,
    ("f", index) when it is dL/df_j."""
    s = re.sub(r"\s+", " ", SPACING.sub(" ", SIZING.sub("", side))).strip()
    s = re.sub(r"\\(?:dfrac|tfrac)", r"\\frac", s)
    s = re.sub(r"\\(?:mathcal|mathscr)\s*(?:\{\s*[LJE]\s*\}|[LJE])", "L", s)
    s = re.sub(r"\\(?:mathbf|boldsymbol|bm|vec)\s*\{\s*([A-Za-z])\s*\}|\\(?:mathbf|boldsymbol|bm|vec)\s+([A-Za-z])",
               lambda m: m.group(1) or m.group(2), s)
    for pat in GRAD_X:
        m = pat.match(s)
        if m:
            return "x", (m.groupdict().get("idx") or None)
    if GRAD_S.match(s):
        return "s", None
    m = GRAD_F.match(s)
    if m:
        return "f", m.group("idx")
    return None


# --------------------------------------------------------------------------
# the parser

TOKEN = re.compile(r"\\\\|\\[A-Za-z]+|\\[{}|]|>=|<=|\d+(?:\.\d+)?|[A-Za-z]|\S")


class Parser:
    """Recursive descent over one side of an equation; ``parse()`` gives a sympy expression (scalar or matrix)."""

    def __init__(self, tex: str, mapping: Mapping, defs: dict | None = None):
        self.toks = TOKEN.findall(normalise(tex))
        self.k = 0
        self.mapping, self.defs = mapping, defs or {}
        self.names: set[str] = set()          # what the student's names were read as, for the note
        self.elementwise: dict = {}            # MatrixSymbol name -> (function, matrix argument)

    # tokens
    def peek(self, ahead=0):
        return self.toks[self.k + ahead] if self.k + ahead < len(self.toks) else None

    def take(self, want=None):
        t = self.peek()
        if t is None or (want is not None and t != want):
            raise NotParsed(f"expected {want or 'more'} but found {t or 'the end'}")
        self.k += 1
        return t

    def group_text(self) -> str:
        """The raw tokens of a ``{...}`` group or of one token (a subscript)."""
        if self.peek() == "{":
            self.take("{")
            depth, out = 1, []
            while True:
                t = self.take()
                depth += (t == "{") - (t == "}")
                if depth == 0:
                    return "".join(out)
                out.append(t)
        return self.take()

    def parse(self):
        e = self.expr()
        if self.peek() is not None:
            raise NotParsed(f"cannot read '{''.join(self.toks[self.k:self.k + 6])}'")
        return e

    def expr(self):
        e = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            t = self.term()
            e = e + t if op == "+" else e - t
        return e

    STOP = {None, "+", "-", ")", "]", "}", r"\}", ",", "&", "=", ">", "<", ">=", "<=", r"\\", "|", r"\|"}

    def term(self):
        e = self.unary()
        while self.peek() not in self.STOP and self.peek() != r"\end":
            if self.peek() == r"\cdot":
                self.take()
                e = _mul(e, self.unary())
            elif self.peek() == r"\odot":
                self.take()
                e = sp.hadamard_product(e, self.unary())
            elif self.peek() == "/":
                self.take()
                e = e / self.unary()
            else:
                e = _mul(e, self.unary())
        return e

    def unary(self):
        if self.peek() == "-":
            self.take()
            return -self.unary()
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self):
        e = self.atom()
        while self.peek() in ("^", "'"):
            if self.take() == "'":
                raise NotParsed("a prime (') on something other than ReLU or sigma")
            sup = self.group_text()
            if sup in ("T", "{T}"):
                e = e.T
            elif sup == "-1" and not isinstance(e, sp.MatrixBase | sp.MatrixExpr):
                e = 1 / e
            else:
                e = e ** Parser(sup, self.mapping, self.defs).parse()
        return e

    def fence(self, close):
        e = self.expr()
        self.take(close)
        return e

    def call_arg(self):
        """The argument of a function: (...), [...], {...} or one atom."""
        t = self.peek()
        if t in ("(", "[", "{", r"\{"):
            self.take()
            return self.fence({"(": ")", "[": "]", "{": "}", r"\{": r"\}"}[t])
        return self.power()

    def atom(self):
        t = self.peek()
        if t is None:
            raise NotParsed("the formula ends too early")
        if re.fullmatch(r"\d+(?:\.\d+)?", t):
            self.take()
            return sp.Rational(t) if "." not in t else sp.Float(t)
        if t in ("(", "[", "{"):
            self.take()
            return self.fence({"(": ")", "[": "]", "{": "}"}[t])
        if t == r"\frac":
            self.take()
            num = self.call_arg() if self.peek() == "{" else self.atom()
            den = self.call_arg() if self.peek() == "{" else self.atom()
            return _mul(num, 1 / den) if not isinstance(den, sp.MatrixExpr | sp.MatrixBase) else _no_matrix_division()
        if t in (r"\partial", r"\nabla"):
            raise NotParsed("a derivative left unexpanded (the chain rule written, not worked out)")
        if t == r"\sum":
            return self.sum()
        if t in (r"\exp",):
            self.take()
            return _apply(sp.exp, self.call_arg(), self)
        if t == r"\tanh":
            self.take()
            return _apply(sp.tanh, self.call_arg(), self)
        if t in (r"\ln", r"\log"):
            self.take()
            return sp.log(self.call_arg())
        if t in (r"\sigma", r"\sigmoid"):
            self.take()
            deriv = self._prime()
            if self.peek() not in ("(", "[", "{", r"\left"):
                raise NotParsed("sigma without an argument")
            a = self.call_arg()
            self.names.add("sigma")
            return _apply(lambda z: sigmoid(z) * (1 - sigmoid(z)), a, self) if deriv else _apply(sigmoid, a, self)
        if t == r"\yhat":
            self.take()
            self.names.add("yhat")
            return sigmoid(s_)
        if t in (r"\relu",):
            self.take()
            deriv = self._prime()
            return _apply(step if deriv else relu, self.call_arg(), self)
        if t == r"\max":
            self.take()
            a, b = self.pair("max")
            if a == 0 or b == 0:
                return _apply(relu, b if a == 0 else a, self)
            return sp.Max(a, b)
        if t in (r"\ind", r"\step") or (t in ("H", r"\Theta") and self.peek(1) in ("(", "[", r"\{", "{")):
            return self.indicator()
        if t == r"\begin":
            return self.environment()
        if t == r"\diag":
            self.take()
            a = self.call_arg()
            if not isinstance(a, sp.MatrixExpr | sp.MatrixBase):
                raise NotParsed("diag of a scalar")
            return sp.DiagMatrix(a) if isinstance(a, sp.MatrixExpr) else sp.diag(*a)
        if re.fullmatch(r"[A-Za-z]", t) or t.startswith("\\"):
            return self.name()
        raise NotParsed(f"cannot read '{t}'")

    def pair(self, what: str):
        """The two arguments of ``what(a, b)``, in any brackets."""
        close = {"(": ")", "[": "]", "{": "}", r"\{": r"\}"}.get(self.take())
        if close is None:
            raise NotParsed(f"{what} without brackets")
        a = self.expr()
        self.take(",")
        b = self.expr()
        self.take(close)
        return a, b

    def _prime(self) -> bool:
        if self.peek() == "'":
            self.take()
            return True
        if self.peek() == "^" and self.peek(1) == "{" and self.peek(2) == "'" and self.peek(3) == "}":
            self.k += 4
            return True
        return False

    def sum(self):
        self.take(r"\sum")
        idx, lo, hi = None, 1, 2
        while self.peek() in ("_", "^"):
            which = self.take()
            text = self.group_text()
            if which == "_":
                m = re.fullmatch(r"\s*([a-z])\s*(?:=\s*(\d+))?\s*", text)
                if not m:
                    raise NotParsed(f"a sum over '{text}'")
                idx, lo = m.group(1), int(m.group(2) or 1)
            elif re.fullmatch(r"\d+", text):
                hi = int(text)
        if idx is None:
            raise NotParsed("a sum without its index")
        body = self.term()
        j = sp.Symbol(idx, integer=True)
        return sp.Sum(body, (j, lo, hi)).doit()

    def indicator(self):
        t = self.take()
        if t in ("H", r"\Theta", r"\step"):
            arg = self.call_arg()
            return _apply(step, arg, self)
        start = self.k
        if self.peek() == "_":                         # \mathbb 1_{f_j > 0}
            self.take()
            text = self.group_text().strip()
            if re.fullmatch(r"\d", text):               # \mathbf 1_2: a ones vector of that length
                return self.ones(int(text))
            if text[:1] + text[-1:] in ("[]", "()", "{}"):
                text = text[1:-1]
            elif text.startswith("\\{") and text.endswith("\\}"):   # \mathbf 1_{\{f > 0\}}
                text = text[2:-2]
            cond = Parser(text, self.mapping, self.defs).condition()
            return _apply(step, cond, self)
        close = {"(": ")", "[": "]", "{": "}", r"\{": r"\}"}.get(self.peek())
        if close is None:
            return self.ones()
        self.take()
        try:
            arg = self.condition()
            self.take(close)
        except NotParsed:                              # \mathbf 1 (a + b): a ones vector times (a + b)
            self.k = start
            return self.ones()
        return _apply(step, arg, self)

    def ones(self, n: int | None = None):
        """The ones vector \\mathbf 1 (a column), of the mapping's length unless written (\\mathbf 1_3)."""
        n = n or (self.mapping.ones if self.mapping is not None else 2)
        self.names.add(f"1 -> a ones vector of length {n}")
        return sp.ImmutableMatrix(sp.ones(n, 1))

    def condition(self):
        """``a > 0`` (or >=, or ``0 < a``) -> a: the indicator's argument."""
        left = self.expr()
        op = self.take()
        right = self.expr()
        if op in (">", ">=") and right == 0:
            return left
        if op in ("<", "<=") and left == 0:
            return right
        if op in ("<", "<=") and right == 0:
            return -left
        raise NotParsed("an indicator whose condition is not 'something > 0'")

    def environment(self):
        self.take(r"\begin")
        env = self.group_text()
        if env in ("pmatrix", "bmatrix", "matrix", "vmatrix", "Bmatrix"):
            rows, row = [], [self.expr()]
            while True:
                t = self.take()
                if t == "&":
                    row.append(self.expr())
                elif t == r"\\":
                    rows.append(row)
                    if self.peek() == r"\end":
                        row = None
                        self.take()
                        break
                    row = [self.expr()]
                elif t == r"\end":
                    break
                else:
                    raise NotParsed(f"cannot read '{t}' in a matrix")
            if row:
                rows.append(row)
            self.group_text()
            return sp.Matrix(rows)
        if env == "cases":
            pieces = []
            while True:
                value = self.expr()
                self.take("&")
                if self.peek() in (r"\otherwise",):
                    self.take()
                    cond = True
                else:
                    cond = self._case_condition()
                pieces.append((value, cond))
                t = self.take()
                if t == r"\\" and self.peek() == r"\end":
                    t = self.take()
                if t == r"\end":
                    break
                if t != r"\\":
                    raise NotParsed(f"cannot read '{t}' in a case split")
            self.group_text()
            return sp.Piecewise(*pieces)
        raise NotParsed(f"the environment {env}")

    def _case_condition(self):
        while self.peek() in (r"\if", r"\for", ","):
            self.take()
        left = self.expr()
        op = self.take()
        right = self.expr()
        rel = {">": sp.StrictGreaterThan, ">=": sp.GreaterThan, "<": sp.StrictLessThan, "<=": sp.LessThan}.get(op)
        if rel is None:
            raise NotParsed(f"a case condition with '{op}'")
        return rel(left, right)

    def scripts(self, transposes: bool = True):
        """A name and its subscript and superscript texts (None when absent); with ``transposes``, a ``^T``, ``^'`` or
        ``^{-...}`` is left for ``power``."""
        t = self.take()
        sub = sup = None
        while self.peek() in ("_", "^"):
            if transposes and self.peek() == "^" and (self.peek(1) in ("T", "'") or self.peek(1) == "{"
                                                      and self.peek(2) in ("T", "-")):
                break
            which = self.take()
            text = self.group_text()
            if which == "_":
                sub = text
            else:
                sup = text
        return t, sub, sup

    def name(self):
        t, sub, sup = self.scripts()
        key = (t, sub, sup)
        if key in self.defs:
            return self.defs[key]
        return resolve(t, sub, sup, self)


def _no_matrix_division():
    raise NotParsed("a division by a matrix")


def _mul(a, b):
    if isinstance(a, sp.MatrixExpr | sp.MatrixBase) and isinstance(b, sp.MatrixExpr | sp.MatrixBase):
        if a.shape[1] != b.shape[0]:
            raise NotParsed(f"a product of a {a.shape[0]}x{a.shape[1]} and a {b.shape[0]}x{b.shape[1]} matrix")
        return a @ b if isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase) else sp.MatMul(a, b)
    return a * b


SHOWN = {"step": "H", "relu": "ReLU", "sigmoid": "sigma", "exp": "exp"}


def _apply(fn, arg, parser: Parser):
    """``fn`` on a scalar, or element by element on a vector (a symbol the evaluation fills in)."""
    if isinstance(arg, sp.MatrixBase):
        return arg.applyfunc(fn)
    if isinstance(arg, sp.MatrixExpr):
        name = f"{SHOWN.get(getattr(fn, '__name__', ''), 'g')}({arg})"
        sym = sp.MatrixSymbol(name, *arg.shape)
        parser.elementwise[name] = (fn, arg)
        return sym
    return fn(arg)


def _indices(sub: str | None) -> list[str]:
    if not sub:
        return []
    s = sub.replace(",", "").replace(" ", "")
    return list(s)


EXTENT = {"x": (3,), "W^{(1)}": (3, 2), "W^{(2)}": (2,), "f": (2,)}   # the range of each index of the quiz's names


def einstein(expr, free: str | None):
    """``expr`` with Einstein's convention applied: an index other than ``free`` repeated within a term is summed over
    its range (j over the hidden units, k over the inputs); (expression, the indices summed)."""
    if isinstance(expr, sp.MatrixExpr | sp.MatrixBase):
        return expr, []
    idx = {a for a in expr.free_symbols if isinstance(a, sp.Symbol) and a.name in INDEX_NAMES and a.name != free}
    if not idx:
        return expr, []
    out, summed = sp.Integer(0), set()
    for term in sp.Add.make_args(sp.expand(expr)):
        for j in sorted(idx & term.free_symbols, key=str):
            uses = [a for a in sp.preorder_traversal(term) if isinstance(a, sp.Indexed) and j in a.indices]
            ranges = {EXTENT.get(str(a.base), (0,) * len(a.indices))[a.indices.index(j)] for a in uses}
            if len(uses) >= 2 and len(ranges) == 1 and 0 not in ranges:
                term = sp.Sum(term, (j, 1, ranges.pop())).doit()
                summed.add(j.name)
        out += term
    return out, sorted(summed)


def _index(tok: str, parser: Parser):
    if tok.isdigit():
        return int(tok)
    if tok in INDEX_NAMES:
        return sp.Symbol(tok, integer=True)
    raise NotParsed(f"the index '{tok}'")


def _layer(sup: str | None) -> int | None:
    if sup is None:
        return None
    m = re.fullmatch(r"\(?\[?\{?\(?([12])\)?\}?\]?\)?T?", sup.replace(" ", ""))
    return int(m.group(1)) if m else -1


X_NAMES, W_NAMES, V_NAMES, F_NAMES = ("x", "X"), ("W", "w", r"\theta", "U", "A"), ("v", "u", "V"), ("f", "h", "z", "F")


def resolve(t: str, sub: str | None, sup: str | None, p: Parser):
    """The quantity a student's name ``t_{sub}^{sup}`` stands for under ``p.mapping``."""
    m = p.mapping
    idx = _indices(sub)
    layer = _layer(sup)
    if layer == -1:
        raise NotParsed(f"the name {t}^{{{sup}}}")
    if sup is not None and sup.replace(" ", "").endswith("T") and layer is not None:
        return resolve(t, sub, sup.replace(" ", "")[:-1], p).T
    if t in X_NAMES and layer is None:
        if not idx:
            p.names.add("X")
            return sp.MatrixSymbol("X", 3, 1)
        if len(idx) == 1:
            p.names.add("x_i")
            return x_[_index(idx[0], p)]
    if t in W_NAMES:
        if layer is None and len(idx) == 1 and idx[0] in "12" and t in ("W", "w"):
            layer, idx = int(idx[0]), []
        if layer in (None, 1) and len(idx) == 2:
            a, b = (_index(c, p) for c in idx)
            p.names.add(f"{t}_ab -> W1")
            return W1_[(b, a) if m.w1_transposed else (a, b)]
        if (layer == 1 or layer is None and t == "W") and not idx:      # a bare W is the matrix, as W_{ij} its entries
            p.names.add("W1")
            return sp.MatrixSymbol("W1", *((2, 3) if m.w1_transposed else (3, 2)))
        if layer == 2 and not idx:
            p.names.add("W2")
            return sp.MatrixSymbol("W2", *((1, 2) if m.w2_row else (2, 1)))
        if layer == 2 and len(idx) in (1, 2):
            rest = idx if len(idx) == 1 else [idx[0]] if idx[1] == "1" else [idx[1]] if idx[0] == "1" else []
            if not rest:
                raise NotParsed(f"the name {t}^{{(2)}}_{{{sub}}}")
            p.names.add("W2_j")
            return w2_[_index(rest[0], p)]
        if layer is None and len(idx) == 1 and t == "w":
            p.names.add("w_j -> W2")
            return w2_[_index(idx[0], p)]
    if t in V_NAMES and layer is None:
        if len(idx) == 1:
            p.names.add(f"{t}_j -> W2")
            return w2_[_index(idx[0], p)]
        if not idx and t in ("v", "V"):
            p.names.add("v -> W2")
            return sp.MatrixSymbol("W2", *((1, 2) if m.w2_row else (2, 1)))
    if t in F_NAMES and layer is None:
        if len(idx) == 1:
            p.names.add(f"{t}_j -> f_j")
            return f_[_index(idx[0], p)]
        if not idx and t in ("f", "h", "F"):
            p.names.add("f")
            return sp.MatrixSymbol("f", 2, 1)
        if not idx and t == "z":
            p.names.add("z -> s")
            return s_
    if t in ("s", "o") and not idx and layer is None:
        return s_
    if t == "y" and not idx and layer is None:
        return y_
    if t == "p" and not idx and layer is None:
        p.names.add("p -> sigma(s)")
        return sigmoid(s_)
    if t == "e" and not idx and layer is None:
        return sp.E
    shown = t + (f"_{{{sub}}}" if sub else "") + (f"^{{{sup}}}" if sup else "")
    raise NotParsed(f"the name {shown} is not one of the quiz's quantities and is not defined in the section")


# --------------------------------------------------------------------------
# reading a section

@dataclass(frozen=True)
class Candidate:
    """One right-hand side the student gave for dL/dx (or dL/ds), and where it came from."""

    kind: str              # "x", "s" or "f"
    index: str | None      # "i", "1".."3", or None for the vector
    tex: str
    formula: str           # the whole formula it was found in


def parse(tex: str, mapping: Mapping, raw_defs: dict, depth: int = 0):
    """``tex`` as a sympy expression under ``mapping``, names defined in ``raw_defs`` substituted; the parser too."""
    defs = {}
    if depth < 3:
        for key, sides in raw_defs.items():
            for rhs in reversed(sides):
                try:
                    defs[key] = parse(rhs, mapping, raw_defs, depth + 1)[0]
                    break
                except (NotParsed, TypeError, ValueError, sp.ShapeError, RecursionError):
                    continue
    p = Parser(tex, mapping, defs)
    try:
        return p.parse(), p
    except (TypeError, sp.ShapeError, AttributeError) as e:
        raise NotParsed(f"{e.__class__.__name__}: {str(e)[:80]}") from None
