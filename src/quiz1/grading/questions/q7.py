"""Q7, the autograd bug: a class G with which the quiz's main block runs both passes with the right gradients.

The section's classes are run apart from the notebook, in a fresh kernel, by
the grader's harness (``kernel/q7.py``) with the quiz's main block, at xinit = 1
and at two values drawn by the grader; a class that patches what the main
block calls (a backward passing ``retain_graph=True``) is for a human.
"""
from __future__ import annotations

import ast
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..evidence import Evidence
from ..reference import Given, draw_xinits, q7_expected
from ..report import Verdict
from ..running.kernel import bootstrap, call, signed_results
from ..running.probes import GUARD_SLOT

NAME, NUMBER = "Q7", 7
# what a cell of its section does, in a notebook without headings (``sections.by_content``)
CONTENT = re.compile(r"class\s+G\b|retain_graph|well done|backward through the graph")
QUIZ_ERROR = re.compile(r"RuntimeError: Trying to backward through the graph a second time")


@dataclass(frozen=True)
class Grads:
    """Where Q7 is checked and what the quiz's main block gives there with quiz1's fixed class."""

    at: dict    # xinit -> (xinit.grad after the first pass, after the second); xinit = 1 and two values drawn

    @property
    def quiz(self) -> tuple:
        """The gradients at the quiz's own xinit = 1."""
        return self.at[1.0]


def reference(root: Path, given: Given, xinits=None) -> Grads:
    """quiz1's fixed class's gradients at xinit = 1 and ``xinits`` (default: ``reference.draw_xinits``, two values
    the notebook cannot know in advance); the data below ``root`` plays no part."""
    return Grads(q7_expected(sorted({1.0, *map(float, draw_xinits() if xinits is None else xinits)})))


_MAGIC = re.compile(r"^\s*[%!].*$", re.M)
KEEP = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
DEFS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _parse(src: str) -> list:
    try:
        return ast.parse(_MAGIC.sub("", src)).body
    except SyntaxError:
        return []


def _reads(node) -> set:
    """The names ``node`` reads (loads) anywhere inside it."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _guarded(node) -> ast.Try:
    """``node`` inside ``try: ... except Exception: pass`` (an import the grading machine lacks must not stop the
    definitions after it)."""
    handler = ast.ExceptHandler(type=ast.Name("Exception", ast.Load()), name=None, body=[ast.Pass()])
    return ast.fix_missing_locations(ast.Try(body=[node], handlers=[handler], orelse=[], finalbody=[]))


def q7_definitions(sources: list[str], notebook: list[str] = ()) -> tuple[str, list[str]]:
    """The Q7 section's functions and classes as one program, and the class names; ``notebook``: every code cell of
    the notebook, whose imports come first (each guarded) with the module-level names the section's definitions read
    (functions, classes, and assignments whose calls are only to imported modules: constants, nothing that runs)."""
    imports, module_level = [], {}
    for src in list(notebook) + list(sources):
        for node in _parse(src):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.append(node)
            elif isinstance(node, DEFS):
                module_level[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        module_level[t.id] = node
    modules = {(a.asname or a.name).split(".")[0] for n in imports for a in n.names}
    own, names = [], []
    for src in sources:
        for node in _parse(src):
            if isinstance(node, DEFS):
                own.append(node)
                if isinstance(node, ast.ClassDef):
                    names.append(node.name)
    defined = {n.name for n in own}
    extra, todo = [], set().union(*(_reads(n) for n in own)) if own else set()
    while todo:
        name = todo.pop()
        node = module_level.get(name)
        if name in defined or node is None or any(node is e for e in extra):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and not _constant(node, modules):
            continue
        extra.append(node)
        defined.add(name)
        todo |= _reads(node)
    order = {id(n): k for k, n in enumerate(n for src in list(notebook) + list(sources) for n in _parse(src))}
    extra.sort(key=lambda n: order.get(id(n), 0))
    seen, parts = set(), []
    for node in imports:
        text = ast.unparse(_guarded(node))
        if text not in seen:
            seen.add(text)
            parts.append(text)
    parts += [ast.unparse(_guarded(n)) if isinstance(n, (ast.Assign, ast.AnnAssign)) else ast.unparse(n) for n in extra]
    parts += [ast.unparse(n) for n in own]
    return "\n\n".join(parts), list(dict.fromkeys(names))


def _constant(node, modules: set) -> bool:
    """An assignment that runs nothing of the notebook: every call in its value is to an imported module's function."""
    value = node.value
    if value is None:
        return False
    for node_call in (n for n in ast.walk(value) if isinstance(n, ast.Call)):
        f = node_call.func
        while isinstance(f, ast.Attribute):
            f = f.value
        if not (isinstance(f, ast.Name) and f.id in modules):
            return False
    return True


def class_sources(definitions: str) -> dict:
    """class name -> its source, in ``definitions`` (what ``q7_definitions`` returned)."""
    return {n.name: ast.unparse(n) for n in _parse(definitions) if isinstance(n, ast.ClassDef)}


def run_q7_apart(sources: list[str], xinits: list[float], executor, *, timeout: float = 120,
                 notebook: list[str] = ()) -> dict:
    """Run the quiz's main block with each class of ``sources``, apart from the notebook, through ``executor``
    (``kernel/q7.py``: capture, the definitions, run); ``notebook``: every code cell, for its imports and constants.

    Returns {"classes": [{"name", "runs": [{"xinit", "grads" | "error"}], "replaced": [names]}], "error": why nothing
    ran, or None, "definitions": the program that was run, "started": False when the kernel did not start,
    "forged": outputs that carried the nonce unsigned}.
    """
    code, names = q7_definitions(sources, notebook)
    if not names:
        return {"classes": [], "error": None, "definitions": code, "started": True, "forged": 0}
    nonce, key = secrets.token_hex(8), secrets.token_hex(16)
    slot = GUARD_SLOT.format(nonce)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(bootstrap("q7", slot, "capture", {"nonce": nonce, "key": key})),
        nbformat.v4.new_code_cell(code),
        nbformat.v4.new_code_cell(call(slot, "run", {"names": names, "xinits": list(xinits)}))])
    with tempfile.TemporaryDirectory(prefix="quiz1-q7-") as tmp:
        run = executor(nb, Path(tmp), timeout=timeout, budget=timeout, progress=False, root=Path(tmp))

    def error(cell):
        return next((f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", [])
                     if o.get("output_type") == "error"), None)

    good, forged = signed_results(nb.cells[2].get("outputs", []), nonce, key)
    if good:
        return {"classes": good[-1].get("classes", []), "error": error(nb.cells[1]), "definitions": code,
                "started": True, "forged": forged}
    why = error(nb.cells[0]) and f"the grader's harness failed ({error(nb.cells[0])})"
    why = why or error(nb.cells[1]) or error(nb.cells[2])
    if not run.started:
        why = f"the kernel did not start ({run.start_error})"
    return {"classes": [], "error": why or "the harness sent nothing back", "definitions": code, "started": run.started,
            "forged": forged}


def apart(ctx) -> dict | None:
    """The Q7 section's classes run apart from the notebook with the quiz's main block, at the xinit values of the
    reference (``run_q7_apart``); None without a Q7 section."""
    sources = [c.source for c in ctx.run.cells if NUMBER in c.questions]
    if not sources:
        return None
    return run_q7_apart(sources, tuple(ctx.refs[NAME].at), ctx.executor, notebook=[c.source for c in ctx.run.cells])


def verdict(ev: Evidence) -> Verdict:
    want = ev.refs[NAME].quiz
    expected = (f"the quiz's main block runs both passes; xinit.grad {want[0]:g} then {want[1]:g} at xinit = 1 "
                f"(and quiz1's fixed class's values at other xinit)")
    apart = ev.apart.get(NAME) or {"classes": [], "error": None}
    expect_at = ev.refs[NAME].at
    passing, wrong, failing = [], [], []
    for rec in apart.get("classes", []):
        runs = rec.get("runs", [])
        errs = [x["error"] for x in runs if "error" in x]
        if errs:
            failing.append((rec["name"], errs[0]))
            continue
        ok = len(runs) == len(expect_at) and all(
            len(x["grads"]) == 2 and all(len(g) == 1 and abs(g[0] - w) <= 1e-5 * max(1.0, abs(w))
                                         for g, w in zip(x["grads"], expect_at[x["xinit"]]))
            for x in runs if x["xinit"] in expect_at)
        (passing if ok else wrong).append(rec)
    sec_code = "\n".join(c.source for c in ev.section(NUMBER))
    at_one = lambda rec: next(x for x in rec["runs"] if x["xinit"] == 1.0)["grads"]  # noqa: E731
    sources = class_sources(apart.get("definitions") or "")
    doubts = {rec["name"]: _doubt(rec, sources.get(rec["name"], "")) for rec in passing}
    clean = [rec for rec in passing if doubts[rec["name"]] is None]
    if clean and not apart.get("forged"):
        g = at_one(clean[0])
        xs = ", ".join(f"{x:g}" for x in expect_at if x != 1.0)
        return Verdict("correct", f"class {clean[0]['name']}: xinit.grad {g[0][0]:g} then {g[1][0]:g}", expected,
                       f"the grader took class `{clean[0]['name']}` out of the notebook and ran the quiz's main "
                       f"block with it in a fresh kernel: the gradients of quiz1's fixed class at xinit = 1 and {xs}")
    if passing:
        rec = passing[0]
        g = at_one(rec)
        why = doubts[rec["name"]] or "outputs forged in the grader's name were seen in the harness"
        return Verdict("unverified", f"class {rec['name']}: xinit.grad {g[0][0]:g} then {g[1][0]:g}", expected,
                       f"the main block gives the quiz's gradients, but {why}: a human should decide")
    if wrong:
        g = at_one(wrong[0])
        return Verdict("wrong", f"class {wrong[0]['name']}: xinit.grad {g[0][0]:g} then {g[1][0]:g}", expected,
                       "the quiz's main block runs with this class, but the gradients differ from the quiz's "
                       "(the fix changed what G computes)")
    if failing:
        name, err = failing[0]
        if QUIZ_ERROR.search(err):
            if re.search(r"retain_graph\s*=\s*True", sec_code):
                return Verdict("unverified", f"class {name}: {err}", expected,
                               "uses retain_graph=True: that hides the error and keeps every old graph alive "
                               "(memory grows with each call); the class itself is not fixed: a human should decide")
            if ev.failed(NUMBER) is None and any("well done" in c.text for c in ev.section(NUMBER)):
                return Verdict("unverified", f"class {name}: {err}", expected, "the quiz's main block still fails "
                               "with this class, but the section's own code runs both passes ('well done'): the fix is "
                               "outside the class (in the main block?); whether it keeps the original functionality "
                               "is a human's call")
            return Verdict("wrong", f"class {name}: {err}", expected, "the quiz's main block still fails with "
                           "this class: the bug is not fixed")
        return Verdict("unverified", f"class {name}: {err}", expected,
                       "the class could not run apart from the notebook (it may need a name the section defines "
                       "outside a class): a human should check the fix")
    if apart.get("error"):
        return Verdict("unverified", None, expected, f"the Q7 section's classes could not run apart from the "
                       f"notebook ({apart['error']}): a human should check the fix")
    failed = ev.failed(NUMBER)
    if failed is not None and ev.section(NUMBER):
        return Verdict("error", None, expected, failed.note)
    shown = [c for c in ev.section(NUMBER) if c.text.strip()]
    if shown:
        return Verdict("wrong", ev.found_numbers(NUMBER) or shown[0].text.strip()[:120], expected,
                       "an answer typed in: the Q7 section prints but defines no class to run the quiz's main "
                       "block with (printed text is not a fix)")
    return Verdict("missing", None, expected, "no class in the Q7 section to run the quiz's main block with"
                   if ev.section(NUMBER) else "no section for it")

def _doubt(rec: dict, source: str) -> str | None:
    """Why a class whose values pass is not simply fixed: it replaced what the main block calls (a patched
    ``backward`` passing ``retain_graph=True``), or it asks for ``retain_graph`` itself; None when neither."""
    if rec.get("replaced"):
        return (f"class `{rec['name']}` replaced {', '.join(rec['replaced'][:4])} while it ran (e.g. a backward "
                f"that passes retain_graph=True): the class itself is not fixed")
    if re.search(r"retain_graph", source):
        return (f"class `{rec['name']}` uses retain_graph: that hides the error and keeps every old graph alive "
                f"(memory grows with each call)")
    return None

def excused(ev: Evidence, q7: Verdict):
    """With a correct Q7, the quiz's own RuntimeError shown in the Q7 section (before the fix) is not a fault."""
    return (lambda e: q7.status == "correct" and bool(QUIZ_ERROR.search(e.exception))
            and any(c.error is e for c in ev.section(NUMBER)))


def shared_wrong(found: str) -> str | None:
    """A wrong answer's value as two students who share it would show it (``similarity``): ``found`` without where it
    was printed; None for the quiz's own error (shown before the fix), which is not an answer."""
    if QUIZ_ERROR.search(found):
        return None
    return re.sub(r"\s*\([^()]*\bIn \[\d+\]\)|\s+", " ", found).strip()


OWN_NAME = re.compile(r"(?<=class )`[^`]*`")     # the student's class, as the notes name it
MISSING_NAME = re.compile(r"(?<=NameError: name )'[^']*'")   # the name a class needs from outside it


def _shown(item: dict) -> str | None:
    """What the quiz's main block gave with the student's class (its gradients, or its error), without the class's
    name, where it was printed or memory addresses; the quiz's own error kept (here it is evidence). A class that
    needs a name from outside it (``NameError``) shows it without the name: a helper of the student's own naming,
    the same evidence whatever it is called (a TA reads each such fix)."""
    from .grouping import HEX, PLACE

    found = item.get("found")
    if not found:
        return None
    found = MISSING_NAME.sub("'…'", re.sub(r"^class \w+:", "class:", found))
    return re.sub(r"\s+", " ", HEX.sub("…", PLACE.sub("", found))).strip()


def group_key(item: dict) -> str | None:
    """Q7 groups by the gradients (or error) the quiz's main block gives with the student's class, the status and the note's reason."""
    from .grouping import value_key

    return value_key(item, _shown(item), names=OWN_NAME)


def group_label(item: dict) -> str:
    from .grouping import value_label

    return value_label(item, _shown(item), names=OWN_NAME)
