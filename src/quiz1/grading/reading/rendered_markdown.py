"""What a TA sees of a notebook's Markdown: its formulas as MathJax typesets them, and the prose around them.

Jupyter renders a Markdown cell in three steps, and this module follows them: the math (``$...$``, ``$$...$$``,
``\\(...\\)``, ``\\[...\\]``, ``\\begin{env}...\\end{env}``) is taken out of the source first (so that Markdown does
not read ``_`` or ``\\\\`` inside it), the rest is rendered as CommonMark with raw HTML and ``~~strikethrough~~``
(``markdown-it-py``, the library jupytext already brings), and MathJax then typesets the math where it lands in the
HTML. What the TA does not see is not read: math inside an HTML comment, inside hidden HTML (``display:none``, the
``hidden`` attribute, ``<font color=white>``, a colour equal to the background, a zero font size or opacity), and,
inside a formula, what MathJax draws invisibly (``\\phantom``, ``\\color{white}``, ``\\textcolor``, ``\\colorbox``
and ``\\bbox`` backgrounds equal to the text's colour, ``\\style{display:none}``). Text struck through (``~~``,
``<del>``, ``<s>``) is kept but marked. The notebook's own macros (``\\def``, ``\\newcommand``, ``\\renewcommand``,
``\\DeclareMathOperator``, ``\\let``, ``\\newenvironment``), which MathJax applies to every later formula of the page,
are expanded here the same way; what this small expander cannot do as MathJax would (a ``\\def`` with delimited
parameters, ``\\expandafter``, a macro that never stops expanding) is named in the formula's ``problems``.

Written here rather than taken from a library: no Python library typesets MathJax's TeX (pylatexenc and
plasTeX read LaTeX documents, not MathJax's macro and colour semantics), and the HTML walk needs only the stdlib's
``html.parser``. Where MathJax 2 and 3 differ (``\\color{c}{x}`` colours ``x`` in version 2, the rest of the group in
version 3), the union of what either hides is taken as hidden: what is left is visible under both.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

BLANK_LINE = re.compile(r"\n[ \t]*\n")
WHITE = (1.0, 1.0, 1.0, 1.0)
BLACK = (0.0, 0.0, 0.0, 1.0)
NEAR = 0.1          # a colour within 0.1 of the background in every channel (of 1) is not seen
MAX_EXPANSIONS = 1000   # macro expansions in one formula before it is taken as recursive (MathJax stops too)
MAX_TOKENS = 20000
MAX_SOURCE = 100_000    # characters of one cell read (a Markdown cell is a few thousand)
MAX_FORMULAS = 2000     # formulas of one cell read
MAX_ENVS = 200          # \begin{...} of one cell looked at (each is matched to its \end by a search to the end)
TEX_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|#[1-9#]|\s+|.", re.S)
FENCE = re.compile(r"^[ \t]{0,3}(?:(`{3,})(?!`)[^`\n]*|(~{3,})(?!~)[^\n]*)\n.*?(?:^[ \t]{0,3}(?:\1`*|\2~*)[ \t]*$|\Z)",
                   re.S | re.M)
COMMENT = re.compile(r"<!--(?:-?>|.*?-->|.*\Z)", re.S)
PLACE = re.compile(r"@@(\d+)@@")
BLOCK_TAGS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr",
              "td", "th", "section", "details", "summary", "hr", "br", "dt", "dd", "figure", "figcaption"}
VOID_TAGS = {"br", "hr", "img", "input", "meta", "link", "source", "wbr", "area", "base", "col", "embed", "track"}
UNSEEN_TAGS = {"script", "style", "template", "noscript", "title", "head", "textarea"}
STRUCK_TAGS = {"del", "s", "strike"}
UNSUPPORTED = {r"\edef", r"\xdef", r"\csname", r"\expandafter", r"\futurelet", r"\noexpand", r"\catcode",
               r"\afterassignment", r"\uppercase", r"\lowercase", r"\romannumeral"}
PHANTOMS = {r"\phantom", r"\hphantom", r"\vphantom"}


@dataclass(frozen=True)
class Formula:
    """One formula of the page as MathJax typesets it.

    ``tex``: its LaTeX with delimiters (``$...$`` or ``$$...$$``), the notebook's macros applied and what is drawn
    invisibly removed; ``hidden``: why the whole formula is not seen (None when it is); ``removed``: the invisible
    parts taken out of it; ``problems``: what the grader cannot typeset as MathJax would; ``block``: (cell, block) of
    the paragraph, list item or heading holding it; ``item``: (cell, list, item) inside a list; ``origin``:
    "markdown" or "output" (displayed by a code cell)."""

    tex: str
    source: str
    cell: int = 0
    block: tuple = (0, 0)
    item: tuple | None = None
    hidden: str | None = None
    struck: bool = False
    removed: tuple = ()
    problems: tuple = ()
    origin: str = "markdown"


@dataclass(frozen=True)
class Text:
    """Visible prose between formulas (struck-through prose left out); ``heading``: part of a heading."""

    text: str
    cell: int = 0
    block: tuple = (0, 0)
    item: tuple | None = None
    heading: bool = False


@dataclass
class CellView:
    """What one cell shows: its pieces (``Text`` and ``Formula`` in reading order), its visible images, the number
    of prose characters outside its headings, and whether it sets its own CSS (``<style>``)."""

    pieces: list = field(default_factory=list)
    images: int = 0
    prose: int = 0
    css: bool = False


# --------------------------------------------------------------------------
# colours

def colour(spec: str, model: str | None = None) -> tuple | None:
    """(r, g, b, alpha) in [0, 1] of a CSS or xcolor colour (``white``, ``#fff``, ``rgb(…)``, ``[rgb]{1,1,1}``,
    ``[RGB]{255,255,255}``, ``[gray]{1}``, ``[HTML]{FFFFFF}``, ``transparent``); None when it cannot be read."""
    s = spec.strip().lower()
    try:
        if model:
            nums = [float(v) for v in re.split(r"[,\s]+", s) if v] if model.lower() != "html" else None
            if model == "rgb" and len(nums) == 3:
                return (*nums, 1.0)
            if model == "RGB" and len(nums) == 3:
                return (*(v / 255 for v in nums), 1.0)
            if model.lower() == "gray" and len(nums) == 1:
                return (nums[0],) * 3 + (1.0,)
            if model.lower() == "html" and re.fullmatch(r"[0-9a-f]{6}", s):
                return tuple(int(s[k:k + 2], 16) / 255 for k in (0, 2, 4)) + (1.0,)
            return None
        if s in ("transparent", "none"):
            return (0.0, 0.0, 0.0, 0.0)
        m = re.fullmatch(r"rgba?\(\s*([\d.]+%?)\s*[, ]\s*([\d.]+%?)\s*[, ]\s*([\d.]+%?)\s*(?:[,/]\s*([\d.]+%?)\s*)?\)", s)
        if m:
            def part(v, scale):
                return float(v[:-1]) / 100 if v.endswith("%") else float(v) / scale
            return (part(m.group(1), 255), part(m.group(2), 255), part(m.group(3), 255),
                    part(m.group(4), 1) if m.group(4) else 1.0)
        from matplotlib.colors import to_rgba

        return tuple(float(v) for v in to_rgba(s))
    except (ValueError, TypeError):
        return None


def unseen(fg: tuple, bg: tuple) -> bool:
    """Text of colour ``fg`` on ``bg`` cannot be seen: transparent, or within ``NEAR`` of the background."""
    return fg[3] < 0.1 or max(abs(a - b) for a, b in zip(fg[:3], bg[:3])) < NEAR


def css_hidden(css: str, fg: tuple, bg: tuple) -> tuple[str | None, tuple, tuple]:
    """(why the style hides its content, or None; the text colour; the background) after ``css``."""
    why = None
    props = {}
    for decl in css.split(";"):
        if ":" in decl:
            k, v = decl.split(":", 1)
            props[k.strip().lower()] = v.strip().lower().replace("!important", "").strip()
    if props.get("display") == "none":
        why = "display:none"
    if props.get("visibility") in ("hidden", "collapse"):
        why = f"visibility:{props['visibility']}"
    try:
        if "opacity" in props and float(props["opacity"].rstrip("%")) / (100 if "%" in props["opacity"] else 1) < 0.1:
            why = f"opacity:{props['opacity']}"
    except ValueError:
        pass
    size = re.fullmatch(r"([\d.]+)\s*(px|pt|em|rem|%|ex)?", props.get("font-size", ""))
    if size and float(size.group(1)) * {"em": 16, "rem": 16, "%": 0.16, "ex": 8, "pt": 1.33}.get(size.group(2), 1) < 3:
        why = f"font-size:{props['font-size']}"
    if props.get("overflow") == "hidden" and any(re.fullmatch(r"0(?:\.0*)?\s*(?:px|em|%)?", props.get(k, "x"))
                                                  for k in ("height", "max-height", "width", "max-width")):
        why = "a zero-size box with overflow:hidden"
    for k in ("left", "top", "margin-left", "text-indent", "margin-top"):
        m = re.fullmatch(r"-\s*([\d.]+)\s*(px|em|rem|pt)?", props.get(k, ""))
        if m and float(m.group(1)) * {"em": 16, "rem": 16, "pt": 1.33}.get(m.group(2), 1) >= 500:
            why = f"moved off the page ({k}:{props[k]})"
    if re.search(r"scale\(\s*0(?:\.0*)?\s*[,)]", props.get("transform", "")):
        why = "transform:scale(0)"
    for k in ("background-color", "background"):
        for word in re.findall(r"rgba?\([^)]*\)|#[0-9a-f]{3,8}\b|[a-z]+", props.get(k, "")):
            c = colour(word)
            if c is not None and c[3] > 0:
                bg = c
                break
    if "color" in props and (c := colour(props["color"])) is not None:
        fg = c
    if why is None and unseen(fg, bg):
        why = f"text coloured as its background ({props.get('color') or 'the text colour'})"
    return why, fg, bg


# --------------------------------------------------------------------------
# TeX: the notebook's macros, and what MathJax draws invisibly

@dataclass
class Macro:
    params: int
    default: list | None
    body: list


def tex_tokens(tex: str) -> list[str]:
    return TEX_TOKEN.findall(tex)


def tex_join(toks: list[str]) -> str:
    out = []
    for k, t in enumerate(toks):
        out.append(t)
        nxt = toks[k + 1] if k + 1 < len(toks) else ""
        if re.fullmatch(r"\\[A-Za-z]+", t) and nxt[:1].isalpha():
            out.append(" ")
    return "".join(out)


class Macros:
    """The macros a page has defined so far (MathJax keeps them for every later formula of the page)."""

    def __init__(self):
        self.defs: dict[str, Macro] = {}
        self.envs: dict[str, tuple] = {}            # name -> (params, default, begin body, end body)
        self.bad: dict[str, str] = {}               # name -> why the grader cannot expand it
        self.colours: dict[str, tuple] = {}         # \definecolor{name}{model}{spec}: name -> (r, g, b, alpha)

    # reading from a stack of tokens (the next token last)
    @staticmethod
    def _skip(stack):
        while stack and stack[-1].isspace():
            stack.pop()

    def _arg(self, stack) -> list | None:
        """An undelimited argument: a {group} (braces dropped) or one token."""
        self._skip(stack)
        if not stack:
            return None
        t = stack.pop()
        if t != "{":
            return [t]
        depth, out = 1, []
        while stack:
            t = stack.pop()
            depth += (t == "{") - (t == "}")
            if depth == 0:
                return out
            out.append(t)
        return out

    def _optional(self, stack) -> list | None:
        self._skip(stack)
        if not stack or stack[-1] != "[":
            return None
        stack.pop()
        out, depth = [], 0
        while stack:
            t = stack.pop()
            if t == "]" and depth == 0:
                return out
            depth += (t == "{") - (t == "}")
            out.append(t)
        return out

    def _name(self, stack) -> str | None:
        a = self._arg(stack)
        a = [t for t in a or [] if not t.isspace()]
        return a[0] if len(a) == 1 and a[0].startswith("\\") else None

    def _define(self, cmd, stack, problems) -> None:
        if cmd in (r"\def", r"\gdef"):
            self._skip(stack)
            name = stack.pop() if stack else None
            params = []
            while stack and stack[-1] != "{":
                params.append(stack.pop())
            body = self._arg(stack) or []
            if not name or not name.startswith("\\"):
                problems.append(f"a {cmd} the grader cannot read")
                return
            plain = [p for p in params if not p.isspace()]
            if plain != [f"#{k}" for k in range(1, len(plain) + 1)]:
                self.bad[name] = f"{cmd}{name} with delimited parameters ({''.join(params)})"
                self.defs.pop(name, None)
                return
            self.defs[name] = Macro(len(plain), None, body)
            self.bad.pop(name, None)
        elif cmd in (r"\newcommand", r"\renewcommand", r"\providecommand"):
            if stack and stack[-1] == "*":
                stack.pop()
            name = self._name(stack)
            n = self._optional(stack)
            default = self._optional(stack)
            body = self._arg(stack) or []
            if name is None:
                problems.append(f"a {cmd} the grader cannot read")
                return
            if cmd == r"\providecommand" and name in self.defs:
                return
            try:
                params = int("".join(n).strip()) if n else 0
            except ValueError:
                self.bad[name] = f"{cmd}{{{name}}} with [{''.join(n)}] arguments"
                return
            self.defs[name] = Macro(params, default, body)
            self.bad.pop(name, None)
        elif cmd == r"\DeclareMathOperator":
            if stack and stack[-1] == "*":
                stack.pop()
            name = self._name(stack)
            body = self._arg(stack) or []
            if name:
                self.defs[name] = Macro(0, None, [r"\operatorname", "{", *body, "}"])
        elif cmd == r"\let":
            self._skip(stack)
            name = stack.pop() if stack else None
            self._skip(stack)
            if stack and stack[-1] == "=":
                stack.pop()
                self._skip(stack)
            target = stack.pop() if stack else None
            if name and target:
                self.defs[name] = self.defs.get(target) or Macro(0, None, [target])
        elif cmd in (r"\newenvironment", r"\renewenvironment"):
            name = "".join(self._arg(stack) or []).strip()
            n = self._optional(stack)
            default = self._optional(stack)
            begin, end = self._arg(stack) or [], self._arg(stack) or []
            try:
                self.envs[name] = (int("".join(n)) if n else 0, default, begin, end)
            except ValueError:
                problems.append(f"the environment {name} defined with [{''.join(n)}] arguments")

    def expand(self, tex: str) -> tuple[str, list[str]]:
        """``tex`` with the page's macros expanded and its own definitions applied (and removed, as MathJax draws
        nothing for them); the problems met."""
        stack = list(reversed(tex_tokens(tex)))
        out, problems, count = [], [], 0
        while stack:
            t = stack.pop()
            if t in (r"\def", r"\gdef", r"\newcommand", r"\renewcommand", r"\providecommand", r"\DeclareMathOperator",
                     r"\let", r"\newenvironment", r"\renewenvironment"):
                self._define(t, stack, problems)
            elif t == r"\definecolor":
                name, model, spec = ("".join(self._arg(stack) or []).strip() for _ in range(3))
                c = colour(spec, model)
                if c is not None:
                    self.colours[name.lower()] = c
                else:
                    problems.append(f"\\definecolor{{{name}}}{{{model}}}{{{spec}}}, a colour the grader cannot read")
            elif t in UNSUPPORTED:
                problems.append(f"{t}, which the grader does not expand as MathJax would")
                out.append(t)
            elif t in self.bad:
                problems.append(f"the notebook's macro {t} ({self.bad[t]}), which the grader cannot expand")
                out.append(t)
            elif t in self.defs or (t in (r"\begin", r"\end") and self._env_name(stack) in self.envs):
                count += 1
                if count > MAX_EXPANSIONS or len(stack) > MAX_TOKENS:
                    problems.append(f"the notebook's macro {t} expands without end (MathJax stops with an error)")
                    out += list(reversed(stack))
                    break
                stack += list(reversed(self._body(t, stack)))
            else:
                out.append(t)
        return tex_join(out), problems

    def _env_name(self, stack) -> str | None:
        k = len(stack) - 1
        while k >= 0 and stack[k].isspace():
            k -= 1
        if k < 0 or stack[k] != "{":
            return None
        name = []
        for t in reversed(stack[:k]):
            if t == "}":
                return "".join(name).strip()
            name.append(t)
        return None

    def _body(self, t, stack) -> list:
        if t in (r"\begin", r"\end"):
            name = "".join(self._arg(stack) or []).strip()
            n, default, begin, end = self.envs[name]
            if t == r"\end":
                return list(end)
            macro = Macro(n, default, begin)
        else:
            macro = self.defs[t]
        args = []
        for k in range(macro.params):
            if k == 0 and macro.default is not None:
                opt = self._optional(stack)
                args.append(opt if opt is not None else macro.default)
            else:
                args.append(self._arg(stack) or [])
        out, body = [], macro.body
        k = 0
        while k < len(body):
            b = body[k]
            if re.fullmatch(r"#[1-9]", b) and int(b[1]) <= len(args):
                out += args[int(b[1]) - 1]
            elif b == "##":
                out.append("#")
            else:
                out.append(b)
            k += 1
        return out


def _tree(toks: list[str]) -> list:
    """Tokens as nested lists, one a {group}."""
    root, stack = [], []
    cur = root
    for t in toks:
        if t == "{":
            stack.append(cur)
            cur.append([])
            cur = cur[-1]
        elif t == "}" and stack:
            cur = stack.pop()
        else:
            cur.append(t)
    return root


def _flat(node) -> str:
    if isinstance(node, list):
        return "{" + "".join(_flat(n) for n in node) + "}"
    return node


def _inner(node) -> str:
    return "".join(_flat(n) for n in node) if isinstance(node, list) else node


def _length_em(text: str) -> float | None:
    m = re.fullmatch(r"\s*(-?)\s*([\d.]+)\s*(em|ex|pt|px|mu|cm|mm|in)?\s*", text)
    if not m:
        return None
    scale = {"em": 1, "ex": 0.45, "pt": 0.1, "px": 1 / 16, "mu": 1 / 18, "cm": 2.85, "mm": 0.285, "in": 7.2}
    return (-1 if m.group(1) else 1) * float(m.group(2) or 0) * scale.get(m.group(3), 1)


class _Visible:
    """Walks a formula's token tree and keeps what MathJax draws visibly."""

    def __init__(self, named: dict | None = None):
        self.removed: list[str] = []
        self.problems: list[str] = []
        self.named = named or {}                  # the page's \definecolor names

    def colour(self, spec: str, model: str | None) -> tuple | None:
        return self.named.get(spec.strip().lower()) if not model and spec.strip().lower() in self.named else \
            colour(spec, model)

    def _next(self, nodes, i):
        while i < len(nodes) and isinstance(nodes[i], str) and nodes[i].isspace():
            i += 1
        return (nodes[i], i + 1) if i < len(nodes) else (None, i)

    def _optional(self, nodes, i):
        node, j = self._next(nodes, i)
        if node != "[":
            return None, i
        out = []
        while j < len(nodes) and nodes[j] != "]":
            out.append(_flat(nodes[j]))
            j += 1
        return "".join(out), j + 1

    def _hide(self, what: str, text: str):
        self.removed.append(f"{what}{{{text[:60]}}}" if text.strip() else what)

    def walk(self, nodes: list, fg: tuple, bg: tuple) -> str:
        out, i = [], 0
        while i < len(nodes):
            n = nodes[i]
            i += 1
            if isinstance(n, list):
                out.append("{" + self.walk(n, fg, bg) + "}")
                continue
            if n in (r"\color", r"\textcolor", r"\colorbox", r"\fcolorbox"):
                model, i = self._optional(nodes, i)
                spec, i = self._next(nodes, i)
                if n == r"\fcolorbox":                   # the frame's colour, then the background's
                    spec, i = self._next(nodes, i)
                c = self.colour(_inner(spec or ""), model)
                if n == r"\color":
                    rest = "".join(_flat(x) for x in nodes[i:])
                    if c is not None and unseen(c, bg):
                        self.removed.append(f"\\color{{{_inner(spec)}}} {rest[:60]}")
                        return "".join(out)
                    fg = c or fg
                    continue
                arg, i = self._next(nodes, i)
                sub_fg, sub_bg = (c or fg, bg) if n == r"\textcolor" else (fg, c or bg)
                if unseen(sub_fg, sub_bg):
                    self._hide(f"{n}{{{_inner(spec)}}}", _inner(arg or ""))
                    continue
                out.append("{" + self.walk(arg if isinstance(arg, list) else [arg or ""], sub_fg, sub_bg) + "}")
                continue
            if n == r"\bbox":
                opts, i = self._optional(nodes, i)
                arg, i = self._next(nodes, i)
                sub_bg = bg
                for part in (opts or "").split(","):
                    part = part.strip()
                    if ":" in part:
                        _, _, sub_bg = css_hidden(part, fg, sub_bg)
                    elif (c := self.colour(part, None)) is not None:
                        sub_bg = c
                if unseen(fg, sub_bg):
                    self._hide(r"\bbox", _inner(arg or ""))
                    continue
                out.append("{" + self.walk(arg if isinstance(arg, list) else [arg or ""], fg, sub_bg) + "}")
                continue
            if n in PHANTOMS:
                arg, i = self._next(nodes, i)
                self._hide(n, _inner(arg or ""))
                continue
            if n == r"\style":
                css, i = self._next(nodes, i)
                arg, i = self._next(nodes, i)
                why, sub_fg, sub_bg = css_hidden(_inner(css or ""), fg, bg)
                if why:
                    self._hide(f"\\style{{{_inner(css or '')}}}", _inner(arg or ""))
                    continue
                out.append("{" + self.walk(arg if isinstance(arg, list) else [arg or ""], sub_fg, sub_bg) + "}")
                continue
            if n in (r"\class", r"\cssId", r"\href"):
                _, i = self._next(nodes, i)
                continue                                 # the next group is drawn as it is
            if n == r"\require":
                _, i = self._next(nodes, i)
                continue
            if n in (r"\mathtip", r"\texttip"):
                arg, i = self._next(nodes, i)
                tip, i = self._next(nodes, i)
                self._hide(n + " (seen only on hover)", _inner(tip or ""))
                out.append("{" + self.walk(arg if isinstance(arg, list) else [arg or ""], fg, bg) + "}")
                continue
            if n == r"\toggle":
                first, i = self._next(nodes, i)
                rest = []
                while i < len(nodes) and nodes[i] != r"\endtoggle":
                    rest.append(_flat(nodes[i]))
                    i += 1
                i += 1
                self._hide(r"\toggle (seen only on click)", "".join(rest))
                out.append("{" + self.walk(first if isinstance(first, list) else [first or ""], fg, bg) + "}")
                continue
            if n in (r"\hspace", r"\mspace", r"\hskip", r"\kern", r"\mkern", r"\mskip", r"\moveleft"):
                if n in (r"\hspace", r"\mspace"):
                    _, i = self._optional(nodes, i) if n == r"\hspace" else (None, i)
                    arg, i = self._next(nodes, i)
                    amount = _inner(arg or "")
                else:
                    k, chars = i, []
                    while k < len(nodes) and isinstance(nodes[k], str) and re.fullmatch(r"[-\d.\sa-z]", nodes[k]):
                        chars.append(nodes[k])
                        k += 1
                        if re.search(r"\d\s*(?:em|ex|pt|px|mu|cm|mm|in)$", "".join(chars)):
                            break
                    amount, i = "".join(chars), k
                em = _length_em(amount)
                if em is not None and em <= -1:
                    self.problems.append(f"a negative space ({n}{{{amount.strip()}}}) that can draw one part over "
                                         f"another")
                out.append(" ")
                continue
            out.append(n)
        return "".join(out)


def visible_tex(tex: str, fg: tuple = BLACK, bg: tuple = WHITE, named: dict | None = None) -> tuple[str, list, list]:
    """``tex`` without what MathJax draws invisibly; (what is left, the parts removed, problems); ``named``: colours
    the page defined (``\\definecolor``)."""
    v = _Visible(named)
    try:
        kept = v.walk(_tree(tex_tokens(tex)), fg, bg)
    except RecursionError:
        return tex, [], ["groups nested too deep to read"]
    return kept, v.removed, v.problems


# --------------------------------------------------------------------------
# Markdown: the math taken out first, as Jupyter does

def _protected(text: str) -> list[tuple[int, int]]:
    """Spans of fenced code blocks and code spans (no math inside them)."""
    fences = [m.span() for m in FENCE.finditer(text)]
    runs = [m.span() for m in re.finditer(r"`+", text)
            if not any(a <= m.start() < b for a, b in fences[:50])]    # a run of backticks opens a code span
    by_len: dict = {}
    for k, (a, b) in enumerate(runs):
        by_len.setdefault(b - a, []).append(k)
    spans, k = list(fences), 0
    while k < len(runs):
        a, b = runs[k]
        same = by_len[b - a]
        nxt = bisect.bisect_right(same, k)
        if nxt < len(same):                                        # closed by the next run of the same length
            spans.append((a, runs[same[nxt]][1]))
            k = same[nxt] + 1
        else:
            k += 1
    return sorted(spans)


def pull_math(text: str) -> tuple[str, list[tuple[str, str, str]]]:
    """``text`` with each formula replaced by ``@@k@@``, and the formulas: (opening, body, closing)."""
    text = text[:MAX_SOURCE]
    spans = _protected(text)
    starts = [a for a, _ in spans]
    out, found, k, tries, envs = [], [], 0, 0, 0
    opener = re.compile(r"\\\$|\$\$|\$|\\\[|\\\(|\\begin\{([A-Za-z]+\*?)\}")
    while True:
        m = opener.search(text, k)
        tries += 1
        if m is None or len(found) >= MAX_FORMULAS or tries > 4 * MAX_FORMULAS:
            break
        inside = bisect.bisect_right(starts, m.start()) - 1
        if inside >= 0 and m.start() < spans[inside][1]:          # in code: no math
            out.append(text[k:spans[inside][1]])
            k = spans[inside][1]
            continue
        if m.group(0) == "\\$":
            out.append(text[k:m.end()])
            k = m.end()
            continue
        tok = m.group(0)
        if m.group(1):
            env = re.escape(m.group(1))
            depth, j, end = 1, m.end(), None
            envs += 1
            for mm in [] if envs > MAX_ENVS else re.compile(rf"\\(begin|end)\{{{env}\}}").finditer(text, m.end()):
                depth += 1 if mm.group(1) == "begin" else -1
                if depth == 0:
                    end = mm.end()
                    break
            if end is None:
                out.append(text[k:m.end()])
                k = m.end()
                continue
            body, close, j = text[m.start():end], "", end
            tok = ""
        else:
            close = {"$$": "$$", "$": "$", "\\[": "\\]", "\\(": "\\)"}[tok]
            j = m.end()
            while True:
                e = text.find(close, j)
                if e < 0 or (e > 0 and text[e - 1] == "\\" and close.startswith("$")):
                    if e < 0:
                        break
                    j = e + 1
                    continue
                break
            if e < 0 or BLANK_LINE.search(text, m.end(), e) or e == m.end():
                out.append(text[k:m.end()])
                k = m.end()
                continue
            body, j = text[m.end():e], e + len(close)
        out.append(text[k:m.start()] + f"@@{len(found)}@@")
        found.append((tok, body, close))
        k = j
    out.append(text[k:])
    return "".join(out), found


def _markdown_html(text: str) -> str:
    from markdown_it import MarkdownIt

    text = re.sub(r"(?<![~\\])~(?=[^\s~])([^~\n]*?[^\s~])~(?!~)", r"~~\1~~", text)   # marked's GFM: one tilde strikes
    return MarkdownIt("commonmark", {"html": True}).enable(["strikethrough", "table"]).render(text)


class _Walk(HTMLParser):
    """The visible text of rendered HTML, with the math placeholders it holds, in reading order."""

    def __init__(self, cell: int):
        super().__init__(convert_charrefs=True)
        self.cell = cell
        self.stack = []       # (tag, state)
        self.state = {"hidden": None, "struck": False, "fg": BLACK, "bg": WHITE, "heading": False}
        self.events = []      # ("text", str, state, block, item) / ("math", k, state, block, item)
        self.block = 0
        self.lists = 0
        self.items: list = []
        self.images = 0
        self.css = False

    def handle_starttag(self, tag, attrs):
        attrs = {k.lower(): (v or "") for k, v in attrs}
        if tag in BLOCK_TAGS:
            self.block += 1
        if tag == "style":
            self.css = True
        if tag == "img":
            if self.state["hidden"] is None and not ("hidden" in attrs or "display:none" in attrs.get("style", "")
                                                     .replace(" ", "")):
                self.images += 1
            return
        if tag in VOID_TAGS:
            return
        st = dict(self.state)
        if tag in UNSEEN_TAGS:
            st["hidden"] = st["hidden"] or f"inside <{tag}>"
        if "hidden" in attrs:
            st["hidden"] = st["hidden"] or "the hidden attribute"
        if tag in STRUCK_TAGS:
            st["struck"] = True
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            st["heading"] = True
        if tag == "font" and attrs.get("color") and (c := colour(attrs["color"])) is not None:
            st["fg"] = c
        if "style" in attrs:
            why, st["fg"], st["bg"] = css_hidden(attrs["style"], st["fg"], st["bg"])
            st["hidden"] = st["hidden"] or why
        if st["hidden"] is None and unseen(st["fg"], st["bg"]):
            st["hidden"] = "text coloured as its background"
        if tag in ("ul", "ol"):
            self.lists += 1
            self.items.append([self.lists, 0])
        if tag == "li" and self.items:
            self.items[-1][1] += 1
        self.stack.append((tag, self.state))
        self.state = st

    def handle_endtag(self, tag):
        if tag in BLOCK_TAGS:
            self.block += 1
        if not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            t, prev = self.stack.pop()
            self.state = prev
            if t in ("ul", "ol") and self.items:
                self.items.pop()
            if t == tag:
                break

    def handle_data(self, data):
        item = (self.cell, *self.items[-1]) if self.items and self.items[-1][1] else None
        pos = 0
        for m in PLACE.finditer(data):
            if data[pos:m.start()]:
                self.events.append(("text", data[pos:m.start()], self.state, self.block, item))
            self.events.append(("math", int(m.group(1)), self.state, self.block, item))
            pos = m.end()
        if data[pos:]:
            self.events.append(("text", data[pos:], self.state, self.block, item))


class Page:
    """One notebook as a page: its macros carry over from cell to cell, in order, as MathJax keeps them."""

    def __init__(self):
        self.macros = Macros()

    def _typeset(self, found, k, state, cell, block, item, origin, hidden=None) -> Formula | None:
        """The formula ``found[k]`` as typeset; None for one that draws nothing at all (macro definitions only)."""
        tok, body, close = found[k]
        source = tok + body + close
        if hidden is not None:                         # in a comment: MathJax never sees it
            return Formula(source, source, cell, (cell, block), item, hidden, origin=origin)
        hidden = state["hidden"]
        tex, problems = self.macros.expand(body)      # MathJax defines macros even in hidden math
        if not tex.strip() and not problems:
            return None
        removed = []
        if hidden is None:
            tex, removed, more = visible_tex(tex, state["fg"], state["bg"], self.macros.colours)
            problems += more
            if removed and not re.sub(r"[\s{}&]|\\\\", "", tex):
                hidden = f"drawn invisibly ({removed[0][:40]})"
        display = tok in ("$$", "\\[", "") or "\\begin" in body
        tex = " ".join(tex.split()) if not display else tex.strip()
        return Formula(("$$" if display else "$") + tex + ("$$" if display else "$"), source, cell, (cell, block), item,
                       hidden, bool(state["struck"]), tuple(removed), tuple(problems), origin)

    def html(self, html_text: str, cell: int, found=None, origin="markdown") -> CellView:
        """What rendered HTML (with ``@@k@@`` for the formulas ``found``) shows."""
        found = found if found is not None else []
        view = CellView()
        in_comments = [int(m) for c in COMMENT.findall(html_text) for m in PLACE.findall(c)]
        walk = _Walk(cell)
        walk.feed(COMMENT.sub(" ", html_text))
        walk.close()
        view.images, view.css = walk.images, walk.css
        for k in in_comments:
            view.pieces.append(self._typeset(found, k, {}, cell, 0, None, origin, "in an HTML comment"))
        for kind, what, state, block, item in walk.events:
            if kind == "math":
                if what < len(found) and (f := self._typeset(found, what, state, cell, block, item, origin)):
                    view.pieces.append(f)
            elif state["hidden"] is None and not state["struck"] and what.strip():
                view.pieces.append(Text(what, cell, (cell, block), item, state["heading"]))
                if not state["heading"]:
                    view.prose += len(what.strip())
        return view

    def markdown(self, source: str, cell: int = 0, origin: str = "markdown") -> CellView:
        """What a Markdown cell (or a ``text/markdown`` output) shows."""
        text, found = pull_math(source)
        return self.html(_markdown_html(text), cell, found, origin)

    def latex(self, source: str, cell: int = 0) -> CellView:
        """What a ``text/latex`` output shows (``display(Math(...))``): its formulas, or the whole text as one."""
        text, found = pull_math(source)
        if not found:
            text, found = "@@0@@", [("$$", source, "$$")]
        view = CellView()
        for part in re.split(r"(@@\d+@@)", text):
            m = PLACE.fullmatch(part)
            state = {"hidden": None, "struck": False, "fg": BLACK, "bg": WHITE}
            if m and (f := self._typeset(found, int(m.group(1)), state, cell, 0, None, "output")):
                view.pieces.append(f)
            elif part.strip():
                view.pieces.append(Text(part, cell, (cell, 0)))
        return view

    def output(self, out: dict, cell: int) -> CellView | None:
        """What one code-cell output shows as typeset text, the richest form first, as Jupyter picks it."""
        data = out.get("data", {}) if out.get("output_type") in ("execute_result", "display_data") else {}
        if isinstance(data.get("text/html"), str):
            text, found = pull_math(data["text/html"])
            return self.html(text, cell, found, "output")
        if isinstance(data.get("text/markdown"), str):
            return self.markdown(data["text/markdown"], cell, "output")
        if isinstance(data.get("text/latex"), str):
            return self.latex(data["text/latex"], cell)
        return None


def read_markdown(cells: list[str]) -> list:
    """The pieces (``Text``, ``Formula``) of Markdown cells read as one page, in order."""
    page = Page()
    return [p for k, src in enumerate(cells) for p in page.markdown(src, k).pieces]
