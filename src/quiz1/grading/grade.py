"""Grade one submission zip: run its notebook(s) afresh and check each question against quiz1's own answers.

``grade_submission(zip) -> GradeReport`` is the whole grader; the CLI prints it.
Nothing the notebook printed before counts: outputs are cleared and the run is
fresh. A value counts only when code of the run printed or displayed it (never
Markdown text), and not when the same digits are typed into the code. The
executor is a parameter (``quiz1.grading.run.run_notebook`` by default), so
a sandboxed one can take its place.

Verdicts: ``correct`` (checked, matches), ``wrong`` (checked, shown but no
match), ``unverified`` (ran and shows work that cannot be checked by a machine,
or a case a human should decide), ``error`` (its code raised, timed out or the
kernel died before it answered), ``missing`` (no work for it: no output,
formula or plot in its section, and no matching output anywhere).
"""
from __future__ import annotations

import hashlib
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from .canary import MachineError, self_check
from .causes import cell_error, stop_reason
from .layout import extract_submission
from .reference import Reference, reference_for
from .report import CellError, GradeReport, Verdict
from .sections import N_QUESTIONS, cell_questions
from .values import literal_in_code, matches, numbers, vector_matches, vectors

PROBE_MIME = "application/x-quiz1-probe+json"
L2_MOST = 2.8   # the most generous reading of the quiz's eps = 0.1: per-pixel RMS 0.1, i.e. L2 0.1 * 28 in [0, 1] units
PROBE = '''
def __quiz1_probe(nonce):
    """quiz1's grader: run the quiz's Q7 main block with every callable class this notebook defined."""
    import inspect
    from IPython.display import display
    out = {"nonce": nonce, "classes": []}
    try:
        import torch
    except Exception:
        display({"%(mime)s": out}, raw=True)
        return
    for name, obj in list(get_ipython().user_ns.items()):
        if not (inspect.isclass(obj) and getattr(obj, "__module__", "") == "__main__" and "__call__" in vars(obj)):
            continue
        rec = {"name": name}
        try:
            g = obj()
            xinit = torch.ones([1], requires_grad=True)
            x = [xinit]
            x.append(x[-1] + g(x[-1]))
            loss = x[-1] ** 2
            loss.backward()
            first = xinit.grad.detach().clone().reshape(-1).tolist()
            x = [xinit]
            x.append(x[-1] + g(x[-1]))
            loss = x[-1] ** 2
            loss.backward()
            rec.update(ok=True, grads=[first, xinit.grad.detach().reshape(-1).tolist()])
        except BaseException as e:
            rec.update(ok=False, error=(type(e).__name__ + ": " + str(e)).splitlines()[0][:200])
        out["classes"].append(rec)
    display({"%(mime)s": out}, raw=True)
__quiz1_probe(%(nonce)r)
del __quiz1_probe
'''


@dataclass
class _Cell:
    """A code cell after the run, with what the checks need."""

    notebook: str
    index: int
    label: str            # "In [n]" or "cell i"
    source: str
    questions: frozenset
    text: str             # everything code printed or displayed, as text
    plots: int
    ran: bool
    error: CellError | None


def _output_text(cell) -> tuple[str, int]:
    chunks, plots = [], 0
    for o in cell.get("outputs", []):
        kind = o.get("output_type")
        if kind == "stream" and o.get("name") == "stdout":
            chunks.append(o.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            data = o.get("data", {})
            plots += any(k.startswith("image/") for k in data)
            for mime in ("text/plain", "text/markdown", "text/latex"):
                if isinstance(data.get(mime), str):
                    chunks.append(data[mime])
            if "text/html" in data and "text/plain" not in data:
                chunks.append(re.sub(r"<[^>]+>", " ", data["text/html"]))
    return "\n".join(chunks), plots


def _read_png(path: Path) -> np.ndarray | None:
    """A 28x28 PNG as (28, 28) uint8 grey levels, whatever mode the student saved it in (``plt.imsave`` writes RGBA);
    None for anything else (a figure, a broken file)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.size != (28, 28):
                return None
            if im.mode in ("I;16", "I;16B", "I"):
                return (np.asarray(im, dtype=np.float64) / 257).round().clip(0, 255).astype(np.uint8)
            return np.asarray(im.convert("L"), dtype=np.uint8)
    except Exception:  # noqa: BLE001 -- whatever the student wrote, the grader goes on
        return None


def _snapshot(root: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, hashlib.sha1(p.read_bytes()).hexdigest()) for p in root.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------
# the checks, one a question


class _Checks:
    def __init__(self, cells: list[_Cell], ref: Reference, stopped_cells: set, probe: dict | None, pngs: list,
                 notes_md: dict, reasons: dict):
        self.cells, self.ref, self.stopped, self.probe, self.pngs, self.md = cells, ref, stopped_cells, probe, pngs, notes_md
        self.reasons = reasons   # notebook -> why its run stopped early, in words
        self.all_code = "\n".join(c.source for c in cells)

    def section(self, q: int) -> list[_Cell]:
        return [c for c in self.cells if q in c.questions]

    def _work(self, q: int) -> bool:
        sec = self.section(q)
        return any(c.text.strip() or c.plots for c in sec) or bool(self.md.get(q, {}).get("latex"))

    def _failed(self, q: int) -> Verdict | None:
        """``error`` if the section raised, timed out, or the run stopped before it; else None."""
        sec = self.section(q)
        errs = [c.error for c in sec if c.error and not c.error.knock_on] or [c.error for c in sec if c.error]
        if errs:
            return Verdict("error", note="; ".join(e.describe() for e in errs[:3]))
        cut = [c for c in sec if c.source.strip() and ((c.notebook, c.index) in self.stopped or not c.ran)]
        if cut:
            why = self.reasons.get(cut[0].notebook) or "the run ended early"
            return Verdict("error", note=f"the run stopped before this section finished: {why}")
        return None

    def _unmatched(self, q: int, found: str | None, expected: str, extra: str | None = None) -> Verdict:
        failed = self._failed(q)
        if failed is not None:
            return Verdict("error", found, expected, "; ".join(x for x in (failed.note, extra) if x))
        if not self._work(q):
            where = "no section for it" if not self.section(q) else "its section shows no output, formula or plot"
            return Verdict("missing", None, expected, "; ".join(x for x in (where, extra) if x))
        return Verdict("wrong", found or "no value printed", expected, extra)

    def _scan(self, q: int, hit):
        """First (cell, value text) where ``hit(cell)`` finds a value; the section first, then the whole run.
        ``hit`` returns (text, typed_in_code) or None."""
        sec = self.section(q)
        typed = []
        for cells, inside in ((sec, True), ([c for c in self.cells if c not in sec], False)):
            for c in cells:
                r = hit(c)
                if r is None:
                    continue
                text, is_typed = r
                if is_typed:
                    typed.append(f"{text} ({c.notebook} {c.label})")
                    continue
                return c, text, inside, typed
        return None, None, None, typed

    @staticmethod
    def _typed_note(typed):
        return (f"printed but typed into the code, not computed: {', '.join(typed[:3])}" if typed else None)

    def _found_numbers(self, q: int, limit: int = 6) -> str | None:
        vals = [p.text for c in self.section(q) for p in numbers(c.text)][:limit]
        return ", ".join(vals) if vals else None

    # Q1 -----------------------------------------------------------------
    def q1(self) -> Verdict:
        r = self.ref
        if r.q1_mean is None:
            failed = self._failed(1)
            if self._work(1) and failed is None:
                return Verdict("unverified", self._found_numbers(1), None, r.missing.get("Q1"))
            return failed or Verdict("missing", None, None, r.missing.get("Q1"))
        expected = f"mean {r.q1_mean:.6f} or total {r.q1_total:.6f}"

        def hit(c):
            for p in numbers(c.text):
                for name, ref in (("mean", r.q1_mean), ("total", r.q1_total)):
                    if matches(p, ref):
                        return f"{name} {p.text}", literal_in_code(p, self.all_code)
            return None

        c, text, inside, typed = self._scan(1, hit)
        if c is not None:
            return Verdict("correct", f"{text} ({c.notebook} {c.label})", expected,
                           None if inside else "printed outside the Q1 section")
        return self._unmatched(1, self._found_numbers(1), expected, self._typed_note(typed))

    # Q2 -----------------------------------------------------------------
    def q2(self) -> Verdict:
        readings = self.ref.q2_readings
        fmt = lambda v: "[" + ", ".join(f"{e:.6g}" for e in v) + "]"  # noqa: E731
        expected = " or ".join(fmt(r.output) for r in readings) + " (one per program drawn as Figure 1)"
        claim = "no program drawn as Figure 1 reproduces the statement's [7, 11, 17] at [1, 2, 3]"

        def typed(vals):
            return all(literal_in_code(p, self.all_code, min_digits=1) for p in vals)

        def hit(c):
            for vals in vectors(c.text, 3):
                for rd in readings:
                    if vector_matches(vals, rd.output):
                        return (f"{fmt([p.value for p in vals])}, {rd.reading}", typed(vals))
            return None

        c, text, inside, typed_hits = self._scan(2, hit)
        if c is not None:
            return Verdict("correct", f"{text} ({c.notebook} {c.label})", expected,
                           f"{claim}" + ("" if inside else "; printed outside the Q2 section"))
        for node, out in self.ref.q2_claim_nodes:
            for cc in self.section(2):
                if any(vector_matches(v, out) for v in vectors(cc.text, 3)):
                    return Verdict("unverified", f"{fmt(out)} ({cc.notebook} {cc.label})", expected,
                                   f"{fmt(out)} is the value at [4, 5, 6] of node {node}, where the claim [7, 11, 17] "
                                   f"holds, not of Figure 1's output; {claim}: a human should decide")
        vecs = [fmt([p.value for p in v]) for cc in self.section(2) for v in vectors(cc.text, 3)][:3]
        return self._unmatched(2, "; ".join(vecs) or self._found_numbers(2), expected, self._typed_note(typed_hits))

    # Q3-Q5: shown for a human --------------------------------------------
    def shown(self, q: int) -> Verdict:
        failed = self._failed(q)
        latex = self.md.get(q, {}).get("latex", [])
        plots = sum(c.plots for c in self.section(q))
        outputs = sum(bool(c.text.strip()) for c in self.section(q))
        if not (latex or plots or outputs):
            return failed or self._unmatched(q, None, None)
        what = f"{len(latex)} formula(s), {plots} plot(s), {outputs} cell(s) with printed output"
        shown = [f for f in latex if f.startswith(("$$", "\\begin"))] or latex   # a result is usually displayed, last
        found = shown[-1][:300] if shown else None
        if failed is not None and not (plots or outputs):
            return Verdict("error", found, None, f"{failed.note}; shows {what}")
        note = f"shows {what}" + (f"; also {failed.note}" if failed is not None else "")
        return Verdict("unverified", found, None, note + "; not checkable by a machine: a human should read it")

    # Q6 -----------------------------------------------------------------
    def q6(self) -> Verdict:
        from ..solvers.mnist_model import predict_proba

        r = self.ref
        expected = "I0' read as 1, I1' read as 7 (or 0, eq. 8), each a small change (L2 <= 2.8 in [0, 1] units)"
        if not self.pngs:
            return self._unmatched(6, "no 28x28 PNG written by the run", expected)
        if len(r.q6_images) < 2:
            return Verdict("unverified", None, expected, "I0.png or I1.png is missing from Q_6/, so images cannot be matched")
        rows, best = [], {"I0": [], "I1": []}
        probs = predict_proba(r.q6_model, np.stack([im for _, im in self.pngs])) if r.q6_model is not None else None
        for k, (rel, im) in enumerate(self.pngs):
            d = {n: float(np.linalg.norm((im.astype(float) - base) / 255)) for n, base in r.q6_images.items()}
            src = min(d, key=d.get)
            pred = int(probs[k].argmax()) if probs is not None else None
            rows.append(f"{rel} ~ {src}: L2 {d[src]:.4f} ([0, 1]) = {255 * d[src]:.1f} (0..255)"
                        + (f", read as {pred} (p = {probs[k, pred]:.2f})" if pred is not None else ""))
            best[src].append((pred, d[src]))
        found = "; ".join(rows)
        if probs is None:
            return Verdict("unverified", found, expected, r.missing.get("Q6 model"))
        want = {"I0": (1,), "I1": (7, 0)}
        hit = {n: [l2 for p, l2 in best[n] if p in want[n] and l2 > 0] for n in want}
        if all(hit.values()):
            if all(min(h) <= L2_MOST for h in hit.values()):
                return Verdict("correct", found, expected)
            return Verdict("unverified", found, expected, "the targets are reached but with a change beyond every "
                           "reading of eps = 0.1 (the largest, per-pixel RMS 0.1, allows L2 2.8): a human should decide")
        failed = self._failed(6)
        return Verdict("error", found, expected, failed.note) if failed else Verdict("wrong", found, expected)

    # Q7 -----------------------------------------------------------------
    def q7(self) -> Verdict:
        want = self.ref.q7_grads
        expected = (f"the quiz's main block runs both passes to '----- well done -----'; xinit.grad {want[0]:g} then "
                    f"{want[1]:g}")
        passing, tried = [], []
        for rec in (self.probe or {}).get("classes", []):
            grads = rec.get("grads") or []
            ok = rec.get("ok") and len(grads) == 2 and all(
                len(g) == 1 and abs(g[0] - w) <= 1e-6 * abs(w) for g, w in zip(grads, want))
            (passing if ok else tried).append(rec)
        sec_code = "\n".join(c.source for c in self.section(7))
        retain = re.search(r"retain_graph\s*=\s*True", sec_code)
        if passing:  # the grader's own run of the main block calls backward() without retain_graph
            return Verdict("correct", f"class {passing[0]['name']}: xinit.grad {passing[0]['grads'][0][0]:g} then "
                           f"{passing[0]['grads'][1][0]:g}", expected,
                           f"the grader ran the quiz's main block with the notebook's class `{passing[0]['name']}`")
        said = [c for c in self.section(7) if re.search(r"well\s*done", c.text)]
        found = "; ".join(f"{r['name']}: {r.get('error') or r.get('grads')}" for r in tried[:3]) or None
        if retain:
            return Verdict("unverified", found, expected,
                           "uses retain_graph=True: that hides the error and keeps every old graph alive (memory grows "
                           "with each call); a human should decide")
        if said and self._failed(7) is None:
            return Verdict("unverified", found, expected,
                           "prints the final message, but no class the notebook defines runs the quiz's main block "
                           "when the grader calls it: a human should check the fix")
        return self._unmatched(7, found, expected)


# --------------------------------------------------------------------------
# the grader


def _markdown_info(nb, qsets) -> dict:
    info = {}
    for cell, qs in zip(nb.cells, qsets):
        if cell.cell_type != "markdown":
            continue
        formulas = re.findall(r"\$\$.+?\$\$|\$[^$\n]+\$|\\begin\{(?:equation|align)\*?\}.+?\\end\{(?:equation|align)\*?\}",
                              cell.source, re.S)
        for q in qs:
            info.setdefault(q, {"latex": []})["latex"] += [f.strip() for f in formulas]
    return info


def grade_submission(zip_path: str | Path, *, timeout: float = 600, budget: float = 1800, trust_model: bool = False,
                     progress: bool = True, executor=None, keep_dir: str | Path | None = None) -> GradeReport:
    """Grade one submission zip; ``ValueError`` only when there is nothing to grade (not a readable zip),
    ``MachineError`` when the grading machine failed (a kernel that starts for no notebook, not even the canary).

    Parameters
    ----------
    timeout, budget : seconds for one cell, and for every notebook of the zip together
    trust_model : load a whole pickled ``Q_6/model.pth`` (unpickling runs its code); else weights only
    executor : ``run_notebook``'s signature, ``(nb, cwd, *, timeout, budget, progress) -> RunResult``
    keep_dir : write each executed notebook there (``<zip stem>.ipynb``, ``<zip stem>-2.ipynb``, ...)
    """
    from .run import run_notebook

    executor = executor or run_notebook
    zip_path = Path(zip_path)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="quiz1-grade-") as tmp:
        layout = extract_submission(zip_path, tmp)
        root, problems = layout.root, list(layout.problems)
        ref = reference_for(root, trust_model=trust_model)
        before = _snapshot(root)
        cells, stopped, md, probe, reasons = [], set(), {}, None, {}
        timed_out = died = interrupted = False
        nonce = secrets.token_hex(8)
        for k, nb_path in enumerate(layout.notebooks):
            name = nb_path.relative_to(root).as_posix()
            try:
                nb = nbformat.read(nb_path, as_version=4)
            except Exception as e:  # noqa: BLE001 -- a TA's grader reports, it does not crash
                problems.append(f"{name} is not a readable notebook ({e.__class__.__name__})")
                continue
            qsets = cell_questions(nb, nb_path.stem)
            for q, v in _markdown_info(nb, qsets).items():
                md.setdefault(q, {"latex": []})["latex"] += v["latex"]
            n_own = len(nb.cells)
            # the Q7 probe runs right after the Q7 section (a later crash must not hide a good fix), else at the end
            at = max((i for i, qs in enumerate(qsets) if 7 in qs and len(qs) == 1), default=n_own - 1) + 1
            nb.cells.insert(at, nbformat.v4.new_code_cell(PROBE % {"mime": PROBE_MIME, "nonce": nonce},
                                                          metadata={"quiz1_probe": True}))
            left = budget - (time.monotonic() - t0)
            if left < 1 or interrupted:
                timed_out = timed_out or left < 1
                stopped |= {(name, i) for i in range(n_own)}
                reasons[name] = ("the grader was interrupted (Ctrl-C)" if interrupted else
                                 f"the run's budget of {budget:g} s for the whole submission ran out before this notebook")
                run = None
            else:
                run = executor(nb, nb_path.parent, timeout=timeout, budget=left, progress=progress, root=root)
                if not run.started:
                    problem = self_check(executor)
                    if problem:   # the machine, not this zip: no verdict at all
                        raise MachineError(f"not graded: {problem}")
                    reasons[name] = (f"the kernel did not start for this notebook ({run.start_error}), though it "
                                     f"starts for quiz1's canary notebook: a file in the zip (an ipython_config.py?) "
                                     f"may stop it")
                elif run.stopped_at is not None:
                    c = nb.cells[run.stopped_at]
                    label = ("quiz1's Q7 probe" if run.stopped_at == at else f"In [{c.execution_count}]"
                             if c.get("execution_count") else f"cell {run.stopped_at - (run.stopped_at > at) + 1}")
                    reasons[name] = stop_reason(run, label, budget)
                timed_out |= run.timed_out
                died |= run.kernel_died
                interrupted |= run.interrupted
                if run.stopped_at is not None:
                    stopped |= {(name, i - (i > at)) for i in range(run.stopped_at, n_own + 1) if i != at}
            for o in nb.cells[at].get("outputs", []):
                got = o.get("data", {}).get(PROBE_MIME)
                if isinstance(got, dict) and got.get("nonce") == nonce:
                    probe = {"classes": (probe or {"classes": []})["classes"] + list(got.get("classes", []))}
            del nb.cells[at]
            if keep_dir is not None:
                Path(keep_dir).mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, Path(keep_dir) / f"{zip_path.stem}{'' if k == 0 else f'-{k + 1}'}.ipynb")
            earlier = []
            for i, (cell, qs) in enumerate(zip(nb.cells, qsets)):
                if cell.cell_type != "code":
                    continue
                label = f"In [{cell.execution_count}]" if cell.execution_count else f"cell {i + 1}"
                err = cell_error(name, cell, label, earlier)
                if err is not None or (name, i) in stopped or cell.execution_count is None:
                    earlier.append((label, cell.source))  # what a later NameError may be a knock-on of
                text, plots = _output_text(cell)
                cells.append(_Cell(name, i, label, cell.source, qs, text, plots,
                                   cell.execution_count is not None, err))
        after = _snapshot(root)
        pngs = []
        for p, sig in sorted(after.items()):
            if p.suffix.lower() != ".png" or before.get(p) == sig:
                continue
            im = _read_png(p)
            if im is not None:
                    pngs.append((p.relative_to(root).as_posix(), im))
        checks = _Checks(cells, ref, stopped, probe, pngs, md, reasons)
        questions = {"Q1": checks.q1(), "Q2": checks.q2(), "Q3": checks.shown(3), "Q4": checks.shown(4),
                     "Q5": checks.shown(5), "Q6": checks.q6(), "Q7": checks.q7()}
        assert len(questions) == N_QUESTIONS
        errors = tuple(c.error for c in cells if c.error is not None)
        return GradeReport(zip_path.name, layout.student_id, tuple(problems), layout.warnings,
                           time.monotonic() - t0, timed_out, died, interrupted, errors, questions,
                           tuple(p.relative_to(root).as_posix() for p in layout.notebooks),
                           getattr(executor, "description", "no sandbox: the notebook ran with the grader's permissions"),
                           "; ".join(f"{n}: {r}" if len(layout.notebooks) > 1 else r for n, r in reasons.items() if r))
