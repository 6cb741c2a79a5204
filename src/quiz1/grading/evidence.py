"""What one run of a submission shows, handed to each question's verdict (``questions/``): the run, each question's
reference for the data (its module's ``reference``), the variant run, and what the grader ran apart from the notebook;
with the readings every question shares (a section's cells, did it fail, is anything shown).

Verdicts: ``correct`` (checked, matches), ``wrong`` (checked, shown but no
match), ``unverified`` (ran and shows work that cannot be checked by a machine,
or a case a human should decide), ``error`` (its code raised, timed out or the
kernel died before it answered), ``missing`` (no work for it: no output,
formula or plot in its section, and no matching output anywhere).

What makes a value count. A number counts when code of the run printed or
displayed it (never Markdown), not typed into the code with the digits it is
checked to (comments aside), from an output holding a few numbers (a list of
every candidate proves nothing), and, when the variant run is on, when the same
cell of the run on the variant data shows the variant's answer at the same
place: a value that does not follow the data is hard-coded. Each question's
module says what else its verdict rests on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .reading.values import numbers
from .report import Verdict
from .running.execution import Cell, RunRecord


@dataclass(frozen=True)
class Variant:
    """The second run, on changed data, and each question's reference for that data."""

    run: RunRecord | None          # None: it could not run (the note says why)
    refs: dict = field(default_factory=dict)     # question name -> its module's ``reference`` of the variant data
    note: str | None = None        # why it did not run
    drawn: dict = field(default_factory=dict)    # question name -> what its module's ``variant`` said of the data it
    #                                              drew (e.g. which digit a new image is, in words)


class Evidence:
    """One run as the verdicts read it.

    Parameters
    ----------
    run : the run on the grader's data (``execution.RunRecord``)
    refs : question name -> what its module's ``reference(root, given)`` read from the data before the run
    variant : the run on changed data and its references, or None (``--variants 0``)
    apart : question name -> what the grader ran apart from the notebook for it (e.g. "Q7": the harness's record)
    """

    def __init__(self, run: RunRecord, refs: dict | None = None, variant: Variant | None = None,
                 apart: dict | None = None):
        self.run, self.refs, self.variant, self.apart = run, refs or {}, variant, apart or {}
        self.cells = run.cells
        self.all_code = "\n".join(c.source for c in run.cells)
        self._measures: dict = {}

    def measured(self, name: str, measures):
        """``measures(self)`` (question ``name``'s module's ``measures``), computed once for its verdict and report."""
        if name not in self._measures:
            self._measures[name] = measures(self)
        return self._measures[name]

    def section(self, q: int) -> list[Cell]:
        """The code cells of question ``q``'s section."""
        return [c for c in self.cells if q in c.questions]

    def work(self, q: int) -> bool:
        """Does the section show anything: printed output, a plot, a formula?"""
        return any(c.text.strip() or c.plots for c in self.section(q)) or bool(self.run.latex.get(q))

    def failed(self, q: int) -> Verdict | None:
        """``error`` if the section raised, timed out, or the run stopped before it; else None."""
        sec = self.section(q)
        errs = [c.error for c in sec if c.error]
        errs = [e for e in errs if not e.knock_on] or errs
        if errs:
            return Verdict("error", note="; ".join(e.describe() for e in errs[:3]))
        cut = [c for c in sec if c.source.strip() and ((c.notebook, c.index) in self.run.stopped or not c.ran)]
        if cut:
            why = self.run.reasons.get(cut[0].notebook) or "the run ended early"
            return Verdict("error", note=f"the run stopped before this section finished: {why}")
        return None

    def unmatched(self, q: int, found: str | None, expected: str | None, extra: str | None = None) -> Verdict:
        """No answer matched: ``error`` when the section failed, ``missing`` when it shows nothing, else ``wrong``."""
        failed = self.failed(q)
        if failed is not None:
            return Verdict("error", found, expected, "; ".join(x for x in (failed.note, extra) if x))
        if not self.work(q):
            where = ("no section for it" if not self.section(q) and q not in self.run.markdown else
                     "its section shows no output, formula or plot")
            return Verdict("missing", None, expected, "; ".join(x for x in (where, extra) if x))
        return Verdict("wrong", found or "no value printed", expected, extra)

    def ordered(self, q: int):
        """(cell, inside the section?) for every cell: the section first, then the rest of the run."""
        sec = self.section(q)
        return [(c, True) for c in sec] + [(c, False) for c in self.cells if c not in sec]

    @staticmethod
    def typed_note(typed):
        return f"printed but typed into the code, not computed: {', '.join(typed[:3])}" if typed else None

    def found_numbers(self, q: int, limit: int = 6) -> str | None:
        """The first numbers the section printed, for the report's ``found``."""
        vals = [p.text for c in self.section(q) for p in numbers(c.text)][:limit]
        return ", ".join(vals) if vals else None

    def variant_cell(self, c: Cell) -> tuple[Cell | None, str | None]:
        """The same cell in the variant run, or None with the reason it cannot be compared."""
        v = self.variant
        if v.run is None:
            return None, v.note or "the variant run did not run"
        vc = v.run.cell(c.notebook, c.index)
        if vc is None or not vc.ran:
            return None, (f"the variant run did not reach {c.label}: "
                          f"{v.run.reasons.get(c.notebook) or 'the cell did not run'}")
        return vc, None

    def shown(self, q: int, markdown: bool = False) -> Verdict:
        """``unverified`` for a human when the section shows anything (formulas, plots, printed output, and with
        ``markdown`` the images and text of its Markdown: an answer may be words or a screenshot), else ``missing``
        (or ``error``)."""
        failed = self.failed(q)
        latex = self.run.latex.get(q, [])
        plots = sum(c.plots for c in self.section(q))
        outputs = sum(bool(c.text.strip()) for c in self.section(q))
        md = self.run.markdown.get(q, {}) if markdown else {}
        images, words = md.get("images", 0), md.get("prose", 0)
        if not (latex or plots or outputs or images or words):
            return failed or self.unmatched(q, None, None)
        what = f"{len(latex)} formula(s), {plots} plot(s), {outputs} cell(s) with printed output" + (
            f", {images} image(s) in its Markdown" if images else "") + (
            f", {words} characters of Markdown text" if words else "")
        shown = [f for f in latex if f.startswith(("$$", "\\begin"))] or latex   # a result is usually displayed, last
        found = shown[-1][:300] if shown else None
        if failed is not None and not (plots or outputs or images or words):
            return Verdict("error", found, None, f"{failed.note}; shows {what}")
        note = f"shows {what}" + (f"; also {failed.note}" if failed is not None else "")
        return Verdict("unverified", found, None, note + "; not checkable by a machine: a human should read it")

