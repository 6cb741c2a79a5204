"""One run of a submission's notebooks in a folder: what each code cell printed, raised and drew, the PNGs written.

``run_submission`` reads the notebooks, splits them into question sections,
inserts the grader's guard first and the cells each question asks for around
its section (its module's ``cells``: ``Insert``), runs them through the
executor and returns a ``RunRecord`` that the verdicts read. It runs once on the data the
grader placed, and once more on the variant data (``grade.py``). Nothing the
notebook printed before counts: outputs are cleared and the run is fresh.

The PNGs a run wrote are found by ``lstat`` (no symlink followed, nothing over
``PNG_CAP`` bytes read, only ``*.png`` files). An image is new when its pixels
equal no image that was in the folder before the run (a copy of I0 is not). A
file of the zip that the run wrote again with the same pixels (a deterministic
notebook re-run over its own shipped outputs, or a pre-made image ``touch``-ed)
is kept apart as ``rewritten``: only the variant run can tell the two apart.
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import secrets
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from ..reading.sections import cell_questions
from ..report import CellError
from .canary import MachineError, self_check
from .causes import cell_error, stop_reason
from .layout import find_data_file
from .probes import guard_cell, guard_result

PNG_CAP = 1 << 20        # bytes: a 28x28 PNG is a few hundred
PNG_COUNT_CAP = 500      # PNGs looked at in one folder
OBJECT_REPR = re.compile(r"^<[^>]* at 0x[0-9a-f]+>$")


@dataclass
class Cell:
    """A code cell after the run, with what the checks need."""

    notebook: str
    index: int
    label: str            # "In [n]" or "cell i"
    source: str
    questions: frozenset
    text: str             # everything code printed or displayed (stdout, stderr, reprs, HTML as text)
    plots: int
    ran: bool
    error: CellError | None


@dataclass
class RunRecord:
    """Everything one run of a submission left."""

    cells: list = field(default_factory=list)
    stopped: set = field(default_factory=set)       # (notebook, cell index) not run to its end
    reasons: dict = field(default_factory=dict)     # notebook -> why its run stopped early, in words
    latex_cells: dict = field(default_factory=dict)  # question -> the formulas its Markdown cells show (visible, not
    #                                                 struck through, the notebook's macros applied), a list a cell
    rendered: dict = field(default_factory=dict)    # question -> [rendered_markdown.Text | Formula]: what its Markdown
    #                                                 and the outputs its code cells displayed show, in reading order
    markdown: dict = field(default_factory=dict)    # question -> {"prose": visible characters outside headings,
    #                                                 "images": visible images, "css": sets its own CSS} of its Markdown
    kernel: dict = field(default_factory=dict)      # question name -> what the grader's cells around its section
    #                                                 reported from the kernel (signed), merged over the notebooks by
    #                                                 its module's ``collect``; absent when nothing came back
    pngs: dict = field(default_factory=dict)        # relative path -> (28, 28) uint8, new pixels written by the run
    copies: list = field(default_factory=list)      # PNGs the run wrote with the pixels of an image already there
    rewritten: dict = field(default_factory=dict)   # relative path -> pixels: a file of the zip the run wrote again,
    #                                                 unchanged (a deterministic re-run, or a touch: the variant decides)
    problems: list = field(default_factory=list)    # unreadable notebooks
    timed_out: bool = False
    died: bool = False
    interrupted: bool = False

    @property
    def latex(self) -> dict:
        """question -> the formulas of its Markdown cells, in order."""
        return {q: [f for cell in cells for f in cell] for q, cells in self.latex_cells.items()}

    def cell(self, notebook: str, index: int) -> Cell | None:
        return next((c for c in self.cells if c.notebook == notebook and c.index == index), None)


def output_text(cell) -> tuple[str, int]:
    """What a code cell's outputs say, as text (stdout, stderr, text reprs, Markdown, LaTeX, and HTML as text where
    it is the only readable form), and how many images it displayed."""
    chunks, plots = [], 0
    for o in cell.get("outputs", []):
        kind = o.get("output_type")
        if kind == "stream":
            chunks.append(o.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            data = o.get("data", {})
            plots += any(k.startswith("image/") for k in data)
            plain = data.get("text/plain")
            for mime in ("text/plain", "text/markdown", "text/latex"):
                if isinstance(data.get(mime), str) and not (mime == "text/plain" and OBJECT_REPR.match(plain.strip())):
                    chunks.append(data[mime])
            if isinstance(data.get("text/html"), str) and (not isinstance(plain, str) or OBJECT_REPR.match(plain.strip())):
                chunks.append(html.unescape(re.sub(r"<[^>]+>", " ", data["text/html"])))
    return "\n".join(chunks), plots


def read_png(path: Path) -> np.ndarray | None:
    """A 28x28 PNG as (28, 28) uint8 grey levels, whatever mode the student saved it in; None for anything else.

    ``plt.imsave`` writes RGBA through a colormap (viridis by default) scaled to the image's own range: a colour image
    whose pixels all lie on viridis, gray or Greys is read back through that colormap (0..255 over the colormap)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.size != (28, 28):
                return None
            if im.mode in ("I;16", "I;16B", "I"):
                return (np.asarray(im, dtype=np.float64) / 257).round().clip(0, 255).astype(np.uint8)
            rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
    except Exception:  # noqa: BLE001 -- whatever the student wrote, the grader goes on
        return None
    if np.ptp(rgb, axis=2).max() < 2:  # grey already
        return rgb.mean(axis=2).round().astype(np.uint8)
    return _through_colormap(rgb)


def _through_colormap(rgb: np.ndarray) -> np.ndarray | None:
    from matplotlib import colormaps

    flat = rgb.reshape(-1, 3)
    for name in ("viridis", "gray", "Greys", "binary", "gray_r"):
        # the bytes plt.imsave writes: the colormap's table truncated to uint8 (a float table's nearest entry is
        # the neighbour for some grey levels: a readback 1 off, enough to flip a thin margin of M's)
        table = colormaps[name](np.arange(256), bytes=True)[:, :3].astype(np.float64)     # (256, 3)
        d = ((flat[:, None, :] - table[None]) ** 2).sum(-1)                               # (784, 256)
        idx = d.argmin(1)
        if np.sqrt(d[np.arange(len(idx)), idx]).max() <= 3:
            return idx.reshape(28, 28).astype(np.uint8)
    return None


def png_files(root: Path) -> dict[str, Path]:
    """Every regular ``*.png`` file below ``root`` of at most ``PNG_CAP`` bytes, by ``lstat`` (symlinks are not
    followed or read)."""
    out = {}
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for name in sorted(files):
            if not name.lower().endswith(".png") or len(out) >= PNG_COUNT_CAP:
                continue
            p = Path(folder) / name
            try:
                st = p.lstat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size <= PNG_CAP:
                out[p.relative_to(root).as_posix()] = p
    return out


def _pixels_key(im: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(im, dtype=np.uint8).tobytes()).hexdigest()


def markdown_formulas(nb, qsets, ran=lambda i: False) -> tuple[dict, dict, dict]:
    """What each question's section shows as the TA sees it rendered (``rendered_markdown``).

    Returns question -> the visible formulas of its Markdown, one list a cell (cells without any left out); question ->
    its pieces (``Text``, ``Formula``: its Markdown and its code cells' displayed formulas) in order; question ->
    {"prose", "images", "css"} of its Markdown. The notebook is read as one page, every cell in order, so that a macro
    defined anywhere earlier applies (as MathJax applies it); the outputs of a code cell count when ``ran(i)`` (a
    ``text/latex``, ``text/markdown`` or HTML output: ``display(Math(...))``)."""
    from ..reading.rendered_markdown import Formula, Page

    page = Page()
    formulas, pieces, md = {}, {}, {}
    for i, (cell, qs) in enumerate(zip(nb.cells, qsets)):
        views = ([page.markdown(cell.source, i)] if cell.cell_type == "markdown" else
                 [v for o in cell.get("outputs", []) if (v := page.output(o, i)) is not None]
                 if cell.cell_type == "code" and ran(i) else [])
        found = [p.tex for v in views for p in v.pieces if isinstance(p, Formula) and p.hidden is None and not p.struck
                 and p.origin == "markdown"]
        for q in qs:
            if found:
                formulas.setdefault(q, []).append(found)
            pieces.setdefault(q, []).extend(p for v in views for p in v.pieces)
            if cell.cell_type == "markdown":
                m = md.setdefault(q, {"prose": 0, "images": 0, "css": False})
                m["prose"] += views[0].prose
                m["images"] += views[0].images
                m["css"] |= views[0].css
    return formulas, {q: p for q, p in pieces.items() if p}, md


@dataclass(frozen=True)
class Insert:
    """A cell the grader runs in the student's kernel around a question's section (its module's ``cells(plan)``)."""

    cell: object              # an nbformat code cell (``probes.guard_call_cell``, ``probes.kernel_cell``)
    after: bool               # after the section's last cell; else before its first
    reports: bool = False     # what it sends back (signed: ``probes.guard_result``) goes to the module's ``collect``
    shared: bool = False      # the section counts the cells it shares with other questions
    anywhere: bool = False    # without a section: at the notebook's start (before) or its end (after); else none


@dataclass(frozen=True)
class Plan:
    """What a question's ``cells`` may need: the run's nonce (the guard's reports carry it) and where the grader
    wants the question's models pickled (``exports``: question name -> path)."""

    nonce: str
    exports: dict = field(default_factory=dict)


def _probe_plan(qsets, questions, plan: Plan) -> list:
    """(position among the notebook's own cells, [question name, reports?], cell) of every cell the grader inserts
    for ``questions`` (modules with ``cells``; the guard, inserted first of all, is not among them)."""
    out = []
    for q in questions:
        for ins in q.cells(plan) if hasattr(q, "cells") else ():
            sec = [i for i, qs in enumerate(qsets) if q.NUMBER in qs and (ins.shared or len(qs) == 1)]
            if sec:
                out.append((sec[-1] + 1 if ins.after else sec[0], [q.NAME, ins.reports], ins.cell))
            elif ins.anywhere:
                out.append((len(qsets) if ins.after else 0, [q.NAME, ins.reports], ins.cell))
    return out


def run_submission(root: Path, notebooks, executor, *, timeout: float, budget: float, questions: tuple,
                   progress: bool = True, keep: list | None = None, exports: dict | None = None) -> RunRecord:
    """Run ``notebooks`` (paths below ``root``) afresh through ``executor``; ``questions``: the question modules
    (their ``CONTENT`` splits a notebook without headings, their ``cells`` are inserted around their sections and their
    ``collect`` merges what those cells report, into ``RunRecord.kernel``); ``keep``: a list that receives each
    executed notebook (``nbformat`` node); ``exports``: question name -> where its cells pickle its models.
    ``MachineError`` when the kernel starts for no notebook, the canary included."""
    t0 = time.monotonic()
    rec = RunRecord()
    old_files = png_files(root)
    old_pixels = {rel: read_png(p) for rel, p in old_files.items()}
    mtimes = {rel: p.lstat().st_mtime_ns for rel, p in old_files.items()}
    before = {_pixels_key(im) for im in old_pixels.values() if im is not None}
    data = {_pixels_key(im) for name in ("I0.png", "I1.png") if (p := find_data_file(root, name)) is not None
            and (im := read_png(p)) is not None}
    nonce, key = secrets.token_hex(8), secrets.token_hex(16)
    for nb_path in notebooks:
        name = nb_path.relative_to(root).as_posix()
        try:
            nb = nbformat.read(nb_path, as_version=4)
        except Exception as e:  # noqa: BLE001 -- a TA's grader reports, it does not crash
            rec.problems.append(f"{name} is not a readable notebook ({e.__class__.__name__})")
            continue
        qsets = cell_questions(nb, tuple((q.NUMBER, q.CONTENT) for q in questions), nb_path.stem)
        n_own = len(nb.cells)
        plan = _probe_plan(qsets, questions, Plan(nonce, exports or {}))
        for pos, tag, cell in sorted(plan, key=lambda p: p[0], reverse=True):
            cell.metadata["quiz1_tag"] = tag
            nb.cells.insert(pos, cell)
        first = guard_cell(nonce, key)      # before any cell of the notebook: captures what the probes rely on
        first.metadata["quiz1_tag"] = "guard"
        nb.cells.insert(0, first)
        tags = {i: c.metadata["quiz1_tag"] for i, c in enumerate(nb.cells) if "quiz1_tag" in c.get("metadata", {})}
        own = [i for i in range(len(nb.cells)) if i not in tags]   # notebook index -> original index
        left = budget - (time.monotonic() - t0)
        executed = not (left < 1 or rec.interrupted)     # only then are the outputs this run's own
        if left < 1 or rec.interrupted:
            rec.timed_out = rec.timed_out or left < 1
            rec.stopped |= {(name, i) for i in range(n_own)}
            rec.reasons[name] = ("the grader was interrupted (Ctrl-C)" if rec.interrupted else
                                 f"the run's budget of {budget:g} s for the whole submission ran out before this notebook")
        else:
            run = executor(nb, nb_path.parent, timeout=timeout, budget=left, progress=progress, root=root)
            if not run.started:
                problem = self_check(executor)
                if problem:   # the machine, not this zip: no verdict at all
                    raise MachineError(f"not graded: {problem}")
                rec.reasons[name] = (f"the kernel did not start for this notebook ({run.start_error}), though it "
                                     f"starts for quiz1's canary notebook: a file in the zip (an ipython_config.py?) "
                                     f"may stop it")
            elif run.stopped_at is not None:
                c = nb.cells[run.stopped_at]
                where = ("quiz1's probe" if run.stopped_at in tags else f"In [{c.execution_count}]"
                         if c.get("execution_count") else f"cell {own.index(run.stopped_at) + 1}")
                rec.reasons[name] = stop_reason(run, where, budget)
            rec.timed_out |= run.timed_out
            rec.died |= run.kernel_died
            rec.interrupted |= run.interrupted
            if run.stopped_at is not None:
                rec.stopped |= {(name, own.index(i)) for i in range(run.stopped_at, len(nb.cells)) if i in own}
        reported = {}
        for i, tag in tags.items():
            if tag != "guard" and tag[1] and (got := guard_result(nb.cells[i], nonce, key)) is not None:
                reported[tag[0]] = got
            elif tag == "guard" and (fault := next((f"{o.get('ename')}: {o.get('evalue')}" for o in nb.cells[i].get(
                    "outputs", []) if o.get("output_type") == "error"), None)):
                probes = sorted({t[0] for t in tags.values() if t != "guard"})
                rec.problems.append(f"{name}: quiz1's guard cell failed ({fault}): the grader's own cells "
                                    f"{'for ' + ', '.join(probes) + ' ' if probes else ''}could not run; the grader's "
                                    f"failure, not the student's")
        for i in sorted(tags, reverse=True):
            del nb.cells[i]
        shown = markdown_formulas(nb, qsets, lambda i: executed and (name, i) not in rec.stopped
                                  and nb.cells[i].get("execution_count") is not None)
        for q, by_cell in shown[0].items():
            rec.latex_cells.setdefault(q, []).extend(by_cell)
        for q, pieces in shown[1].items():
            rec.rendered.setdefault(q, []).extend(pieces)
        for q, m in shown[2].items():
            seen = rec.markdown.setdefault(q, {"prose": 0, "images": 0, "css": False})
            seen.update(prose=seen["prose"] + m["prose"], images=seen["images"] + m["images"], css=seen["css"] or m["css"])
        if keep is not None:
            keep.append(nb)
        earlier = []
        for i, (cell, qs) in enumerate(zip(nb.cells, qsets)):
            if cell.cell_type != "code":
                continue
            where = f"In [{cell.execution_count}]" if cell.execution_count else f"cell {i + 1}"
            err = cell_error(name, cell, where, earlier)
            if err is not None or (name, i) in rec.stopped or cell.execution_count is None:
                earlier.append((where, cell.source))  # what a later NameError may be a knock-on of
            text, plots = output_text(cell)
            rec.cells.append(Cell(name, i, where, cell.source, qs, text, plots, cell.execution_count is not None, err))
        for q in questions:     # after the grader's cells are gone: a report may name the notebook's own cells
            if q.NAME in reported:
                rec.kernel[q.NAME] = q.collect(rec.kernel.get(q.NAME), reported[q.NAME], name, nb)
    for rel, p in png_files(root).items():
        im = read_png(p)
        if im is None:
            continue
        if _pixels_key(im) not in before:
            rec.pngs[rel] = im
        elif rel not in old_files:
            rec.copies.append(rel)
        elif p.lstat().st_mtime_ns != mtimes[rel] and _pixels_key(im) not in data:
            rec.rewritten[rel] = im
    return rec
