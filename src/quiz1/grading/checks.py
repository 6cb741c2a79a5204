"""The seven verdicts: one check a question, each on what the run computed, never on what it claims.

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
place: a value that does not follow the data is hard-coded. Q2 counts with a
tensor in the kernel whose graph is Figure 1; Q7 with a class that passes the
quiz's main block run apart from the notebook; Q6 with new pixels near the
data's images that M reads as the targets, and that are adversarial again, by
M's reading and within the bound, when the variant run replaces I0 and I1 with
other digits of their classes drawn by the grader (not the first run's change
added to them). Q3 is the Markdown's
formula for dL/dx (the one place a value is not computed by code), read in the
student's notation and equal to quiz1's closed form at points in every ReLU
region; Q4 and Q5 are the notebook's own encoders and MLP, taken out of its kernel
and run by the grader in fresh processes on inputs it draws after the run (new
points of each Q4 file's manifold, x between the Q5 data's x), and Q4's exact
Markdown equations; every number a model reads counts as a parameter.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import numpy as np

from .datasets import Q6_TARGETS
from .execution import Cell, RunRecord
from .probes import class_sources
from .reference import EXACT_REL, Reference
from .report import Verdict
from .values import Printed, literal_in_code, matches, numbers, vector_matches, vectors

L2_MOST = 2.8      # the most generous reading of the quiz's eps = 0.1: per-pixel RMS 0.1, i.e. L2 0.1 * 28 in [0, 1] units
L2_NOTHING_LEFT = 2 * L2_MOST   # a change past this leaves no digit to speak of: not a small change by any reading
SAME_CHANGE = 0.9  # Q6: cosine between the two runs' changes (I' - I) at and above which one change was added to both
SCALAR_LINE_MOST, SCALAR_CELL_MOST = 4, 64   # a scalar answer counts from a line of at most 4 numbers, a cell of 64
# Q1: the words around a number that do not say what it is (a tensor's or array's repr), and how many other
# unlabelled values make a bare number one candidate among several ("which one is the answer?")
REPR_NOISE = re.compile(r"tensor|array|dtype|float\d*|int\d*|grad_fn=<\w*>|device='?\w*'?|requires_grad|np\.|True|False")
Q1_OTHER_CANDIDATES = 3
ALIASES = {"torch.nn.functional.": "F."}
WORSE_THAN_LINEAR = 1.5   # Q4: an MSE over 1.5 x the best linear encoder's (PCA to D - 1): a network that learned nothing
Q5_RMSE = 0.02     # Q5: RMSE of the student's f over the range of (alpha, beta): the same curve at Figure 3's size
Q5_RMSE_FAR = 0.10  # beyond a tenth of the range the curve is not Figure 3's (an untrained MLP: about 1.9, i.e. 186%)
MEMORISED = 10     # Q4: exact on the zip's points, over 10 x the exactness bound on new points: a memorised table
MODEL_CODE = re.compile(r"nn\.(?:Module|Linear|Sequential)|MLPRegressor|keras|Dense\(|flax|jax")
LINEAR_OPS = {"linear", "addmm", "matmul", "mm", "__matmul__", "bmm"}
ACTIVATIONS = {"relu", "relu_", "tanh", "sigmoid", "silu", "gelu", "elu", "leaky_relu", "softplus", "selu", "sin", "cos",
               "celu", "hardtanh", "relu6", "mish", "softsign", "logsigmoid", "hardswish", "prelu", "rrelu",
               "threshold", "hardsigmoid", "tanh_", "sigmoid_"}
QUIZ_Q7_ERROR = re.compile(r"RuntimeError: Trying to backward through the graph a second time")


@dataclass(frozen=True)
class Variant:
    """The second run, on changed data, and the answers for that data."""

    run: RunRecord | None          # None: it could not run (the note says why)
    ref: Reference
    note: str | None = None
    q6_digits: dict = field(default_factory=dict)   # "I0"/"I1" -> which digit the variant's image is, in words


def _fmt(v) -> str:
    return "[" + ", ".join(f"{e:.6g}" for e in v) + "]"


def _tensor(t: dict) -> str:
    """How the probe's tensor is named to a TA: `out` (the notebook's variable), or the one the section showed."""
    return f"the notebook's `{t['name']}`" if t.get("name") else "a tensor the Q2 section printed"


def _layers(c: dict) -> dict:
    """Hidden layers and their activations, read from the torch functions one forward pass called (or an sklearn
    MLP's ``coefs_``): {"hidden": int | None, "activations": [...], "all_activated": bool}."""
    ops = c.get("ops") or []
    lin = [k for k, o in enumerate(ops) if o in LINEAR_OPS]
    if c.get("kind") == "sklearn":
        act = c.get("sk_activation") or "relu"
        return {"hidden": c.get("sk_hidden"), "activations": [act], "all_activated": act != "identity"}
    if not lin:
        return {"hidden": None, "activations": [], "all_activated": False}
    gaps = [[o for o in ops[a + 1:b] if o in ACTIVATIONS] for a, b in zip(lin, lin[1:])]
    acts = [g[0] for g in gaps if g]
    return {"hidden": len(lin) - 1, "activations": list(dict.fromkeys(acts)), "all_activated": all(gaps)}


def _l2(a, b) -> float:
    return float(np.linalg.norm((a.astype(float) - b.astype(float)) / 255))


def _same_change(adv, image, vadv, vimage) -> float | None:
    """Cosine between the first run's change ``adv - image`` and the variant run's ``vadv - vimage`` (each (28, 28)
    uint8), over the pixels where ``vimage`` plus the first change stays in 0..255: there a perturbation made
    beforehand and added to whatever image is loaded gives the same change exactly, elsewhere [0, 1] clips it.
    None when those pixels hold less than a fifth of the first change (L2): too little to compare.

    cos = <d, d'>_free / (||d||_free ||d'||_free),  d = adv - image,  d' = vadv - vimage
    """
    d = adv.astype(float) - image                                        # (28, 28) grey levels
    dv = vadv.astype(float) - vimage                                     # (28, 28)
    free = (vimage + d >= 0) & (vimage + d <= 255)                       # (28, 28) bool
    a, b = d[free], dv[free]
    if np.linalg.norm(a) < 0.2 * np.linalg.norm(d) or not np.linalg.norm(b):
        return None
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


class Checks:
    def __init__(self, run: RunRecord, ref: Reference, variant: Variant | None = None, q7: dict | None = None):
        self.run, self.ref, self.variant, self.q7_apart = run, ref, variant, q7
        self.cells = run.cells
        self.all_code = "\n".join(c.source for c in run.cells)

    def section(self, q: int) -> list[Cell]:
        return [c for c in self.cells if q in c.questions]

    def _work(self, q: int) -> bool:
        return any(c.text.strip() or c.plots for c in self.section(q)) or bool(self.run.latex.get(q))

    def _failed(self, q: int) -> Verdict | None:
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

    def _unmatched(self, q: int, found: str | None, expected: str | None, extra: str | None = None) -> Verdict:
        failed = self._failed(q)
        if failed is not None:
            return Verdict("error", found, expected, "; ".join(x for x in (failed.note, extra) if x))
        if not self._work(q):
            where = ("no section for it" if not self.section(q) and q not in self.run.markdown else
                     "its section shows no output, formula or plot")
            return Verdict("missing", None, expected, "; ".join(x for x in (where, extra) if x))
        return Verdict("wrong", found or "no value printed", expected, extra)

    def _ordered(self, q: int):
        """(cell, inside the section?) for every cell: the section first, then the rest of the run."""
        sec = self.section(q)
        return [(c, True) for c in sec] + [(c, False) for c in self.cells if c not in sec]

    @staticmethod
    def _typed_note(typed):
        return f"printed but typed into the code, not computed: {', '.join(typed[:3])}" if typed else None

    def _found_numbers(self, q: int, limit: int = 6) -> str | None:
        vals = [p.text for c in self.section(q) for p in numbers(c.text)][:limit]
        return ", ".join(vals) if vals else None

    def _variant_cell(self, c: Cell) -> tuple[Cell | None, str | None]:
        """The same cell in the variant run, or None with the reason it cannot be compared."""
        v = self.variant
        if v.run is None:
            return None, v.note or "the variant run did not run"
        vc = v.run.cell(c.notebook, c.index)
        if vc is None or not vc.ran:
            return None, (f"the variant run did not reach {c.label}: "
                          f"{v.run.reasons.get(c.notebook) or 'the cell did not run'}")
        return vc, None

    # Q1 -----------------------------------------------------------------
    @staticmethod
    def _q1_hits(text: str, mean: float, total: float, per_sample) -> list[tuple[int, str, Printed | None]]:
        """(position among the cell's numbers, kind, the number) of every reading of Q1 in ``text``: the mean or the
        total from a line of a few numbers, or every per-sample loss in a row."""
        nums = numbers(text)
        hits = []
        if len(nums) <= SCALAR_CELL_MOST:
            k = 0
            for line in text.splitlines():
                on_line = numbers(line)
                if len(on_line) <= SCALAR_LINE_MOST:
                    for j, p in enumerate(on_line):
                        for kind, ref in (("mean", mean), ("total", total)):
                            if matches(p, ref):
                                hits.append((k + j, kind, p))
                k += len(on_line)
        n = len(per_sample) if per_sample is not None else 0
        for k in range(len(nums) - n + 1 if n > 1 else 0):
            if all(matches(p, r) for p, r in zip(nums[k:k + n], per_sample)):
                hits.append((k, "per-sample", None))
        return hits

    def q1(self) -> Verdict:
        r = self.ref
        if r.q1_mean is None:
            failed = self._failed(1)
            if self._work(1) and failed is None:
                return Verdict("unverified", self._found_numbers(1), None, r.missing.get("Q1"))
            return failed or Verdict("missing", None, None, r.missing.get("Q1"))
        expected = f"mean {r.q1_mean:.6f} or total {r.q1_total:.6f} (or the {len(r.q1_per_sample)} per-sample losses)"
        typed, found = [], None
        for c, inside in self._ordered(1):
            for k, kind, p in self._q1_hits(c.text, r.q1_mean, r.q1_total, r.q1_per_sample):
                text = f"{kind} {p.text}" if p is not None else f"the {len(r.q1_per_sample)} per-sample losses"
                if p is not None and literal_in_code(p, self.all_code):
                    typed.append(f"{text} ({c.notebook} {c.label})")
                    continue
                found = (c, k, kind, text, inside)
                break
            if found:
                break
        if found is None:
            return self._unmatched(1, self._found_numbers(1), expected, self._typed_note(typed))
        c, k, kind, text, inside = found
        where = f"{text} ({c.notebook} {c.label})"
        notes = [] if inside else ["printed outside the Q1 section"]
        if self.variant is not None:
            v = self.variant.ref
            vc, why = self._variant_cell(c)
            if vc is None:
                return Verdict("unverified", where, expected, "; ".join(notes + [
                    f"the value could not be checked on the variant data ({why}): a human should decide"]))
            want = {"mean": v.q1_mean, "total": v.q1_total, "per-sample": None}[kind]
            got = [h for h in self._q1_hits(vc.text, v.q1_mean, v.q1_total, v.q1_per_sample) if h[1] == kind]
            if not any(h[0] == k for h in got):
                seen = numbers(vc.text)
                shown = seen[k].text if k < len(seen) else "nothing"
                return Verdict("wrong", where, expected, "; ".join(notes + [
                    f"did not change when the data changed: hard-coded? on the variant data the same cell printed "
                    f"{shown} where the {kind} is " + (f"{want:.6f}" if want is not None else "another vector")]))
            notes.append(f"followed the data: on the variant data the same cell printed its {kind}"
                         + (f" {v.q1_mean if kind == 'mean' else v.q1_total:.6g}" if kind != "per-sample" else ""))
        doubt = self._q1_library(c) or self._q1_which_one(c, k, kind)
        if doubt:
            return Verdict("unverified", where, expected, "; ".join(notes + [doubt]))
        return Verdict("correct", where, expected, "; ".join(notes) or None)

    def _q1_library(self, c: Cell) -> str | None:
        """Why the Q1 value needs a human, from the grader's record of the library functions the Q1 section's cells
        (and ``c``, the cell that printed it) called at run time; None when they called none."""
        rec = self.run.q1_calls
        if rec is None:
            return ("the grader's record of the library functions the Q1 section called did not come back "
                    "(no Q1 section, or the run stopped in it): a human should check it is computed from scratch")
        if rec.get("tampered") or rec.get("forged") or not rec.get("signed", True):
            what = ", ".join(rec.get("tampered", [])[:4]) or "a forged copy of the grader's record"
            return (f"the notebook replaced what the grader's call recorder relies on ({what}): which functions "
                    f"computed it is unknown, a human should decide")
        cells = {(x.notebook, x.index) for x in self.section(1)} | {(c.notebook, c.index)}
        used = list(dict.fromkeys(fn for key, fns in rec["cells"].items() if key in cells for fn in fns))
        if not used:
            return None
        named = []
        for fn in ([fn for fn in used if "._C." not in fn] or used)[:3]:     # the function called, not torch's inside
            alias = next((fn.replace(a, b) for a, b in ALIASES.items() if fn.startswith(a)), None)
            named.append(f"`{fn}`" + (f" ({alias})" if alias else ""))
        return (f"computed with the library's {', '.join(named)} (called at run time) where the quiz asks for softmax "
                f"and cross-entropy from scratch: a human should decide")

    def _q1_which_one(self, c: Cell, k: int, kind: str) -> str | None:
        """A bare number among several bare candidates (no words say which is the answer): why a human decides."""
        if kind == "per-sample":
            return None
        line, seen = "", 0
        for ln in c.text.splitlines():          # the line holding the cell's k-th number
            seen += len(numbers(ln))
            if seen > k:
                line = ln
                break
        if re.search(r"[A-Za-z]", REPR_NOISE.sub(" ", re.sub(r"[-+]?\d[\d.,eE+-]*", " ", line))):
            return None
        r = self.ref
        known = [r.q1_mean, r.q1_total] + list(r.q1_per_sample if r.q1_per_sample is not None else [])
        others = set()
        for cell in {id(x): x for x in self.section(1) + [c]}.values():
            for ln in cell.text.splitlines():
                rest = REPR_NOISE.sub(" ", re.sub(r"[-+]?\d[\d.,eE+-]*", " ", ln))
                on_line = numbers(ln)
                if re.search(r"[A-Za-z]", rest) or not on_line or len(on_line) > SCALAR_LINE_MOST:
                    continue
                others |= {round(p.value, 6) for p in on_line if re.search(r"[.eE]", p.text)
                           and not any(matches(p, ref) for ref in known)}
        if len(others) < Q1_OTHER_CANDIDATES:
            return None
        return (f"printed bare, among {len(others)} other bare values in the section ({', '.join(f'{v:g}' for v in sorted(others)[:4])}"
                f"{', ...' if len(others) > 4 else ''}): which one is the answer? a human should decide")

    # Q2 -----------------------------------------------------------------
    def q2(self, figure1_tensors: list[dict]) -> Verdict:
        readings = self.ref.q2_readings
        expected = " or ".join(_fmt(r.output) for r in readings) + " (one per program drawn as Figure 1)"
        claim = "no program drawn as Figure 1 reproduces the statement's [7, 11, 17] at [1, 2, 3]"
        typed, found = [], None
        for c, inside in self._ordered(2):
            for vals in vectors(c.text, 3):
                rd = next((rd for rd in readings if vector_matches(vals, rd.output)), None)
                if rd is None:
                    continue
                text = f"{_fmt([p.value for p in vals])}, {rd.reading}"
                if all(literal_in_code(p, self.all_code, min_digits=1) for p in vals):
                    typed.append(f"{text} ({c.notebook} {c.label})")
                    continue
                found = (c, vals, text, inside)
                break
            if found:
                break
        held = [(t, rd) for t in figure1_tensors for rd in readings
                if len(t.get("value", [])) == 3 and np.allclose(t["value"], rd.output, rtol=1e-5)]
        probe = self.run.probe or {}
        if found is not None and (probe.get("tampered") or probe.get("forged")):
            c, vals, text, inside = found
            what = ", ".join(probe.get("tampered", [])[:4]) or "outputs forged in the grader's name"
            return Verdict("unverified", f"{text} ({c.notebook} {c.label})", expected,
                           f"the notebook replaced what the grader's graph probe relies on ({what}): the graph it "
                           f"reports cannot be trusted, a human should decide")
        if found is not None:
            c, vals, text, inside = found
            where = f"{text} ({c.notebook} {c.label})"
            same = [t for t, _ in held if all(matches(p, v) for p, v in zip(vals, t["value"]))]
            if same:
                merged = same[0].get("merged")
                return Verdict("correct", where, expected, f"{_tensor(same[0])} has Figure 1's autograd graph and this "
                               f"value" + (f" (with {merged} fed by one tensor: its leaves merged, as torchviz draws "
                                           f"`f(x, x, x)`)" if merged else "")
                               + f"; {claim}" + ("" if inside else "; printed outside the Q2 section"))
            if figure1_tensors:
                seen = ", ".join(f"{_tensor(t)} = {_fmt(t['value'][:3])}" for t in figure1_tensors[:3])
                why = f"the kernel's tensors drawn as Figure 1 ({seen}) do not hold this value: a human should decide"
            elif self.run.probe is None:
                why = "the grader's graph probe did not run (the run stopped before it): a human should decide"
            else:
                return Verdict("wrong", where, expected, "no program computes it: no tensor the notebook holds or "
                               "shows in its Q2 section has Figure 1's autograd graph (typed in, or computed without "
                               "autograd)")
            return Verdict("unverified", where, expected, why)
        if held:
            t, rd = held[0]
            return Verdict("unverified", f"{_tensor(t)} = {_fmt(t['value'])}, {rd.reading}", expected,
                           "the kernel holds a program drawn as Figure 1 with a right output at [4, 5, 6], but the run "
                           "does not show it: a human should decide")
        for node, out in self.ref.q2_claim_nodes:
            for cc in self.section(2):
                if any(vector_matches(v, out) for v in vectors(cc.text, 3)):
                    return Verdict("unverified", f"{_fmt(out)} ({cc.notebook} {cc.label})", expected,
                                   f"{_fmt(out)} is the value at [4, 5, 6] of node {node}, where the claim [7, 11, 17] "
                                   f"holds, not of Figure 1's output; {claim}: a human should decide")
        vecs = [_fmt([p.value for p in v]) for cc in self.section(2) for v in vectors(cc.text, 3)][:3]
        return self._unmatched(2, "; ".join(vecs) or self._found_numbers(2), expected, self._typed_note(typed))

    # Q3 -----------------------------------------------------------------
    def q3(self) -> Verdict:
        """The section's final dL/dx, read from its Markdown and displayed formulas as the TA sees them rendered,
        against quiz1's closed form (``equivalence``)."""
        from .equivalence import check_q3
        from .rendered_markdown import Formula

        expected = "dL/dx_i = (sigma(s) - y) sum_j W1_ij (1[f_j > 0] + W2_j), f = W1^T x, s = ReLU(f_1) + ReLU(f_2) + W2.f"
        pieces = self.run.rendered.get(3, [])
        if not any(isinstance(p, Formula) for p in pieces):
            v = self.shown(3, markdown=True)
            return Verdict(v.status, v.found, expected, v.note)
        got = check_q3(pieces)
        if got.status == "unverified" and got.found is None:
            v = self.shown(3, markdown=True)
            return Verdict(v.status, v.found, expected, "; ".join(x for x in (got.note, v.note) if x))
        if got.status == "correct" and any(m.get("css") for m in self.run.markdown.values()):
            return Verdict("unverified", got.found, expected, f"{got.note}; but the notebook's Markdown sets its own CSS "
                           f"(<style>), which can hide or show any text: a human should confirm what is visible")
        return Verdict(got.status, got.found, expected, got.note)

    # what no check could read: shown for a human (Q3-Q5 fall back on it) ----
    def shown(self, q: int, markdown: bool = False) -> Verdict:
        """``unverified`` for a human when the section shows anything (formulas, plots, printed output, and with
        ``markdown`` the images and text of its Markdown: Q3's answer may be words or a screenshot), else ``missing``
        (or ``error``)."""
        failed = self._failed(q)
        latex = self.run.latex.get(q, [])
        plots = sum(c.plots for c in self.section(q))
        outputs = sum(bool(c.text.strip()) for c in self.section(q))
        md = self.run.markdown.get(q, {}) if markdown else {}
        images, words = md.get("images", 0), md.get("prose", 0)
        if not (latex or plots or outputs or images or words):
            return failed or self._unmatched(q, None, None)
        what = f"{len(latex)} formula(s), {plots} plot(s), {outputs} cell(s) with printed output" + (
            f", {images} image(s) in its Markdown" if images else "") + (
            f", {words} characters of Markdown text" if words else "")
        shown = [f for f in latex if f.startswith(("$$", "\\begin"))] or latex   # a result is usually displayed, last
        found = shown[-1][:300] if shown else None
        if failed is not None and not (plots or outputs or images or words):
            return Verdict("error", found, None, f"{failed.note}; shows {what}")
        note = f"shows {what}" + (f"; also {failed.note}" if failed is not None else "")
        return Verdict("unverified", found, None, note + "; not checkable by a machine: a human should read it")

    # Q4 -----------------------------------------------------------------
    @functools.cached_property
    def q4_measures(self) -> dict:
        """Data file -> what the grader measured of the notebook's best encoder + decoder on it (exact ones by fewest
        parameters, then lowest loss), on the points it drew from the file's manifold after the run (the zip's own
        points kept apart): the encoders and decoders taken out of the kernel and run apart (``run_models_apart``),
        and the equations of the section's Markdown (``encoder_formulas``): {"name", "kind", "params", "limit",
        "mse", "rel", "rel_shipped", "fresh", "fresh_error", "pca_mse", "status", "printed", "n"}."""
        from .encoder_formulas import markdown_round_trips
        from .reference import Q4_FILES

        out = {}
        printed = {int(p.value) for c in self.section(4) for p in numbers(c.text) if float(p.value).is_integer()}
        models = self.run.models
        for fname, X in self.ref.q4_clouds.items():
            P, shipped = models.get("q4_points", {}).get(fname, (X, np.ones(len(X), bool)))
            fresh = ~shipped
            exact = EXACT_REL ** 2 * X.var()                # exact ones by fewest parameters, the rest by loss first
            limit = Q4_FILES.get(fname)
            rows, loose = [], []

            def measure(R, on_all, c, params):
                """(MSE on the new points, else on the shipped ones; inf when it ran on the shipped ones only)."""
                mse_s = float(((R[shipped] - P[shipped]) ** 2).mean()) if on_all else float(((R - P[shipped]) ** 2).mean())
                mse_f = float(((R[fresh] - P[fresh]) ** 2).mean()) if on_all and fresh.any() else None
                return (mse_f if mse_f is not None else mse_s if on_all else float("inf"), params, c, mse_s, mse_f)

            for c in models.get("q4", {}).get(fname, []):
                R = np.asarray(c.get("output", []), dtype=float)
                on_all = c.get("rows") == "all"
                if R.shape == (P.shape if on_all else (int(shipped.sum()), P.shape[1])):
                    rows.append(measure(R, on_all, c, int(c.get("params", 0))))
            for R, text in markdown_round_trips(self.run.latex_cells.get(4, []), P):
                got = measure(R, True, {"name": text if len(text) <= 160 else text[:157] + "...",
                                        "kind": "Markdown formulas"}, 0)
                (rows if got[0] <= exact else loose).append(got)   # formulas count only when exact: a misread
            if not rows and not loose:                              # must fail no one
                continue
            mse, params, c, mse_s, mse_f = (
                min(rows, key=lambda r: (r[0] > exact, r[1] if r[0] <= exact else r[0], r[0], r[1]))
                if rows else min(loose, key=lambda r: r[0]))
            _, sv, _ = np.linalg.svd(X - X.mean(0), full_matrices=False)
            pca = float(sv[-1] ** 2 / X.size)               # the best linear encoder to D - 1 dimensions
            var = max(X.var(), 1e-300)
            rel, rel_s = float(np.sqrt(mse / var)), float(np.sqrt(mse_s / var))
            memorised = rel_s <= EXACT_REL and rel > MEMORISED * EXACT_REL
            status = ("formulas not exact" if not rows else "memorised" if memorised
                      else "too large" if limit is not None and params >= limit
                      else "exact" if rel <= EXACT_REL else "worse than linear" if mse > WORSE_THAN_LINEAR * pca
                      else "network")
            raised = not np.isfinite(mse)                   # it ran on the shipped points only
            out[fname] = {"name": c.get("name"), "kind": c.get("kind"), "params": params, "limit": limit,
                          "mse": mse_s if raised else mse, "rel": None if raised else rel, "rel_shipped": rel_s, "fresh": int(fresh.sum()),
                          "fresh_error": c.get("fresh_error"), "pca_mse": pca, "status": status,
                          "printed": params in printed, "n": int(shipped.sum())}
        return out

    def q4(self) -> Verdict:
        expected = ("for each file an encoder to one dimension fewer and a decoder back, G(E(X)) = X to round-off on "
                    "new points of the file's manifold (symbolic: full marks); networks ranked by loss, then "
                    "parameters, every number the model reads counted (limits 10,000 / 10,000 / 100,000)")
        m = self.q4_measures
        files = list(self.ref.q4_clouds)
        apart = "; ".join(f"{w}" for q, w in self.run.models.get("notes", {}).items() if q == "q4")
        if not m:
            v = self.shown(4)
            why = ("no encoder and decoder found: none among the notebook's models and functions (taken out of the "
                   "kernel after the Q4 section and run apart on the grader's points: an autoencoder counts when it "
                   "splits into an encoder and a decoder fed only the code) and no complete set of equations in the "
                   "section's Markdown" + (f" ({apart})" if apart else "")
                   if files else "; ".join(w for k, w in self.ref.missing.items() if k.startswith("Q4"))
                   or "no Q4 data file in the zip to run on")
            return Verdict(v.status, v.found, expected, "; ".join(x for x in (why, v.note) if x))
        parts = []
        for f, r in m.items():
            said = ("printed in the section" if r["printed"] else "not printed in the section")
            size = "" if r["kind"] == "Markdown formulas" else f" ({r['params']:,} parameters, {said})"
            where = (f"on {r['n']:,} of the file's points, raising on new points of its manifold"
                     if r["rel"] is None else f"on {r['fresh']:,} new points of its manifold" if r["fresh"]
                     else f"on {r['n']:,} of the file's points")
            parts.append(f"{f}: {r['kind']} `{r['name']}`{size}: MSE {r['mse']:.3g} {where} ({r['status']})")
        found = "; ".join(parts)
        absent = [f for f in files if f not in m]
        bad = {f: r for f, r in m.items() if r["status"] in ("too large", "worse than linear", "memorised")}
        notes = []
        if absent:
            notes.append(f"nothing found for {', '.join(absent)}")
        for f, r in bad.items():
            notes.append(f"{f}: " + (
                f"{r['params']:,} parameters (every number the model reads), over the quiz's limit of {r['limit']:,}"
                if r["status"] == "too large" else
                "round-trips the zip's own points exactly but not new points of the same manifold ("
                + (f"it raised on them: {r['fresh_error']}" if r["rel"] is None else
                   f"relative RMSE {r['rel']:.3g} on {r['fresh']:,} of them") + "): it memorised the data, it does not "
                "encode it" if r["status"] == "memorised" else
                f"MSE {r['mse']:.3g}, worse than the best linear encoder (PCA, MSE "
                f"{r['pca_mse']:.3g}) by more than half: untrained, or it learned nothing"))
        blind = [f for f, r in m.items() if not r["fresh"]]
        if all(m.get(f, {}).get("status") == "exact" for f in files) and not blind:
            return Verdict("correct", found, expected, f"exact to round-off (relative RMSE <= {EXACT_REL:g}) on every "
                           "file, measured by the grader on new points of each file's manifold, drawn after the run "
                           "(the models taken out of the notebook and run apart, the decoder fed the code alone)")
        if len(bad) == len(m) and not absent:
            return Verdict("wrong", found, expected, "; ".join(notes))
        for f in blind:
            notes.append(f"{f}: quiz1 found no exact chart of this file, so no new points of its manifold could be "
                         f"drawn: measured on the file's own points only, a human should decide")
        for f, r in m.items():
            if r["status"] == "formulas not exact":
                notes.append(f"{f}: the section's formulas ({r['name']}) round-trip with a relative RMSE of "
                             f"{r['rel']:.3g}, not exactly: a human should read them")
        nets = [f for f, r in m.items() if r["status"] == "network"]
        flat = [f for f in nets if m[f]["mse"] >= 0.95 * m[f]["pca_mse"]]
        if flat:
            notes.append(f"{', '.join(flat)}: about the loss of the best linear encoder (PCA): the network found "
                         f"little more than a projection")
        if nets:
            notes.append(f"{', '.join(nets)}: a network, not exact; report.html ranks the class by the quiz's rule "
                         f"(loss, then parameters): a human sets the marks")
        return Verdict("unverified", found, expected, "; ".join(notes))

    # Q5 -----------------------------------------------------------------
    @functools.cached_property
    def q5_measures(self) -> dict | None:
        """The notebook's best model of f against quiz1's reference, run apart from the notebook at x the grader drew
        after the run: {"name", "params", "rmse" (between the data's x, relative to the range of (alpha, beta)),
        "rmse_data" (at the data's x), "bypass" (the RMSE with the MLP's weights set to zero, when that follows f),
        "beyond" (the largest distance beyond the data from f's end tangent, relative), "memorised" (its RMSE at the
        data's x when it is right there only, else None), "orientation", "input", "hidden", "activations", "x",
        "pred", "truth"}, or None."""
        from ..solvers.unpaired import reference_pairings

        if self.ref.q5_sets is None:
            return None
        x, ab = self.ref.q5_sets
        xq, kind = self.run.models.get("q5_x") or (x, np.zeros(len(x), int))
        refs = reference_pairings(x, ab)
        span = float(max(np.ptp(ab[:, 0]), np.ptp(ab[:, 1]))) or 1.0
        o = np.argsort(x, kind="stable")
        data, inside, beyond = kind == 0, (kind == 1) | (kind == 2), kind == 3
        inside = inside if inside.any() else data
        tried = []
        for c in self.run.models.get("q5", []):
            P = np.asarray(c.get("output", []), dtype=float)
            if P.shape != (len(xq), 2) or not (c.get("mlp_numbers") or c.get("kind") == "sklearn"):
                continue                                    # Q5 asks for a network: no linear layer, no MLP
            A0 = c.get("ablated")
            first = len(tried)
            for name, R in refs.items():
                F = np.stack([np.interp(xq, x[o], R[o, k]) for k in (0, 1)], 1)      # f between the data's x
                # as it is, then with one scale and shift per output (a model of normalised targets), fitted at the
                # data's x
                A = [np.linalg.lstsq(np.c_[P[data, k], np.ones(data.sum())], R[:, k], rcond=None)[0] for k in (0, 1)]
                for fitted, Q in ((False, P), (True, np.stack([P[:, k] * A[k][0] + A[k][1] for k in (0, 1)], 1))):
                    def rmse(Y, rows, F=F):
                        return float(np.sqrt(((Y[rows] - F[rows]) ** 2).sum(1).mean())) / span
                    r_in = rmse(Q, inside)
                    bypass = None
                    if A0 is not None:
                        Z = np.asarray(A0, dtype=float)
                        Z = np.stack([Z[:, k] * A[k][0] + A[k][1] for k in (0, 1)], 1) if fitted else Z
                        bypass = rmse(Z, inside) if rmse(Z, inside) <= Q5_RMSE_FAR else None
                    tried.append((bypass is not None, fitted and r_in > 0, r_in, {
                        "name": c.get("name"), "kind": c.get("kind"), "params": int(c.get("params", 0)),
                        "rmse": r_in, "rmse_data": rmse(Q, data), "bypass": bypass,
                        "beyond": self._q5_beyond(xq[beyond], Q[beyond], x[o], R[o], span),
                        "between": int(inside.sum()) if inside is not data else 0, "orientation": name,
                        "input": c.get("input", "x"), "output_scaled": fitted, **_layers(c),
                        "x": x.tolist(), "pred": Q[data].tolist(), "truth": R.tolist()}))
            bypass = min((t[3]["bypass"] for t in tried[first:] if t[0]), default=None)
            for k in range(first, len(tried)):     # without its MLP it follows f (in some orientation): no MLP's fit
                tried[k] = (bypass is not None, tried[k][1], tried[k][2], {**tried[k][3], "bypass": bypass})
        if not tried:
            return None
        honest = [t for t in tried if not t[0]]
        raw = [t for t in honest if not t[1]]
        good = ([t for t in raw if t[2] <= Q5_RMSE] or [t for t in honest if t[2] <= Q5_RMSE]    # an MLP's fit,
                or [t for t in tried if t[0] and not t[1]] or [t for t in tried if t[0]]   # else one that follows
                or raw or honest)                                                            # f without its MLP
        best = min(good, key=lambda t: t[2])[3]
        # right at the data's own x in some input form, far from f between them: a table of the data
        memo = [t[3]["rmse_data"] for t in tried if t[3]["name"] == best["name"] and t[3]["rmse_data"] <= Q5_RMSE
                and t[3]["rmse"] > Q5_RMSE_FAR]
        return {**best, "memorised": min(memo, default=None)}

    @staticmethod
    def _q5_beyond(xb, Qb, xs, Rs, span) -> float | None:
        """The largest distance of the model's outputs Qb (k, 2) at xb (k,), beyond the data, from the tangent of f at
        the data's nearest end (its last segment extended), relative to ``span``; None without such points."""
        if not len(xb):
            return None
        lo = (Rs[0], (Rs[1] - Rs[0]) / ((xs[1] - xs[0]) or 1.0), xs[0])
        hi = (Rs[-1], (Rs[-1] - Rs[-2]) / ((xs[-1] - xs[-2]) or 1.0), xs[-1])
        dist = [np.linalg.norm(q - (e[0] + e[1] * (t - e[2]))) for t, q in zip(xb, Qb) for e in [lo if t < xs[0] else hi]]
        return float(max(dist)) / span

    def q5(self) -> Verdict:
        expected = (f"an MLP 1 -> 2 with two hidden layers and activations whose outputs follow f (either "
                    f"orientation) between the data's x: RMSE at most {Q5_RMSE:.0%} of the range of (alpha, beta)")
        m = self.q5_measures
        if m is None:
            v = self.shown(5)
            sec = "\n".join(c.source for c in self.section(5))
            if self.ref.q5_sets is None:
                return Verdict(v.status, v.found, expected, "; ".join(x for x in (self.ref.missing.get("Q5"), v.note)
                                                                    if x))
            if v.status in ("error", "missing") or MODEL_CODE.search(sec):
                apart = self.run.models.get("notes", {}).get("q5")
                return Verdict(v.status, v.found, expected, "; ".join(x for x in (
                    "no model with 1 input, 2 outputs and linear layers found among the notebook's models (taken out "
                    "of the kernel after the Q5 section and run apart)" + (f" ({apart})" if apart else ""), v.note)
                    if x))
            plots = sum(c.plots for c in self.section(5))
            return Verdict("wrong", v.found, expected, f"no model: the Q5 section builds no network (no torch module, "
                           f"no MLP), so its {plots} plot(s) show the data, not a learned f")
        arch = (f"{m['hidden']} hidden layer(s), activations {', '.join(m['activations']) or 'none'}"
                if m["hidden"] is not None else "architecture not read")
        rmse = f"{m['rmse']:.2%}" if m["rmse"] >= 1e-4 else f"{m['rmse']:.1e}"     # round-off reads as such
        where = (f"at {m['between']} x between the data's x, drawn by the grader after the run" if m["between"] else
                 f"at the {len(m['x'])} x of xy.npz")
        found = (f"{m['kind']} `{m['name']}` ({m['params']:,} parameters, every number it reads; {arch}): RMSE {rmse} of the range "
                 f"against f ({m['orientation']} orientation) {where} (at the data's x: {m['rmse_data']:.2%})"
                 + (f", input {m['input']}" if m["input"] != "x" else "")
                 + (", after one scale and shift per output" if m["output_scaled"] else ""))
        beyond = ("" if m["beyond"] is None else f"; beyond the data's x, where f is not defined by the data and the "
                  f"verdict does not look, it strays at most {m['beyond']:.1%} of the range from f's end tangent")
        if m["bypass"] is not None:
            return Verdict("wrong", found, expected, f"the output follows f even with the MLP's weights set to zero "
                           f"(RMSE {m['bypass']:.2%} of the range): the answer comes from elsewhere (stored data, "
                           f"a formula), not from the MLP")
        if m["rmse"] > Q5_RMSE_FAR:
            memo = (f" (it is right at the data's own x only, RMSE {m['memorised']:.2%} there: a memorised table, "
                    f"not a learned f)" if m["memorised"] is not None else "")
            return Verdict("wrong", found, expected, f"the model's curve does not follow f: off by more than "
                           f"{Q5_RMSE_FAR:.0%} of the range between the data's x{memo} (report.html draws it over f)")
        if m["rmse"] > Q5_RMSE:
            return Verdict("unverified", found, expected, f"near f but visibly off (between {Q5_RMSE:.0%} and "
                           f"{Q5_RMSE_FAR:.0%} of the range; report.html draws it over f): partial marks are a "
                           f"human's call" + beyond)
        if m["hidden"] != 2 or not m["all_activated"]:
            return Verdict("unverified", found, expected, f"fits f, but the quiz asks for two hidden layers with "
                           f"activations ({arch}): a human decides the deduction" + beyond)
        return Verdict("correct", found, expected, "the grader took the model out of the notebook, ran it in a fresh "
                       "process at x of its own between the data's x and compared it with f from the data's own "
                       "geometry (the curve's points ordered, matched by rank to sorted x, joined by segments); with "
                       "the MLP's weights set to zero the output no longer follows f" + beyond)

    # Q6 -----------------------------------------------------------------
    def q6(self) -> Verdict:
        from ..solvers.mnist_model import predict_proba

        r = self.ref
        expected = "I0' read as 1, I1' read as 7 (or 0, eq. 8), each a small change (L2 <= 2.8 in [0, 1] units)"
        # a file of the zip written again unchanged counts only if it follows the variant data (checked below)
        pngs = sorted({**(self.run.rewritten if self.variant is not None else {}), **self.run.pngs}.items())
        if not pngs:
            copies = self.run.copies
            return self._unmatched(6, "no new 28x28 PNG written by the run", expected, (
                f"{', '.join(copies[:3])}: the pixels of an image already there, not counted" if copies else None))
        if len(r.q6_images) < 2:
            return Verdict("unverified", None, expected, "I0.png or I1.png is missing from Q_6/, so images cannot be matched")
        rows, best = [], {"I0": [], "I1": []}
        probs = predict_proba(r.q6_model, np.stack([im for _, im in pngs])) if r.q6_model is not None else None
        for k, (rel, im) in enumerate(pngs):
            d = {n: _l2(im, base) for n, base in r.q6_images.items()}
            src = min(d, key=d.get)
            pred = int(probs[k].argmax()) if probs is not None else None
            rows.append(f"{rel} ~ {src}: L2 {d[src]:.4f} ([0, 1]) = {255 * d[src]:.1f} (0..255)"
                        + (f", read as {pred} (p = {probs[k, pred]:.2f})" if pred is not None else ""))
            best[src].append((d[src], rel, pred))
        found = "; ".join(rows)
        if probs is None:
            return Verdict("unverified", found, expected, r.missing.get("Q6 model"))
        nearest = min(l2 for n in best for l2, _, _ in best[n])
        if nearest > L2_NOTHING_LEFT:
            return Verdict("wrong", found, expected, f"every image written leaves nothing of the digit (L2 {nearest:.1f} "
                           f"at the least, over {L2_NOTHING_LEFT:g}, twice the most generous reading of eps = 0.1)")
        hit = {n: sorted((l2, rel) for l2, rel, p in best[n] if p in Q6_TARGETS[n]) for n in Q6_TARGETS}
        if not all(hit.values()):
            failed = self._failed(6)
            return Verdict("error", found, expected, failed.note) if failed else Verdict("wrong", found, expected)
        small = {n: h[0] for n, h in hit.items()}
        if any(l2 > L2_NOTHING_LEFT for l2, _ in small.values()):
            return Verdict("wrong", found, expected, f"the change leaves nothing of the digit (L2 over "
                           f"{L2_NOTHING_LEFT:g}, twice the most generous reading of eps = 0.1)")
        within = all(l2 <= L2_MOST for l2, _ in small.values())
        beyond = ("the targets are reached but with a change beyond every reading of eps = 0.1 (the largest, per-pixel "
                  "RMS 0.1, allows L2 2.8): a human should decide")
        if self.variant is not None:
            moved = self._q6_followed({n: [rel for l2, rel in h if l2 <= L2_NOTHING_LEFT][:4] for n, h in hit.items()})
            if moved.status != "correct" or within:
                return Verdict(moved.status, found, expected, moved.note)
            return Verdict("unverified", found, expected, f"{moved.note}; {beyond}")
        return Verdict("correct" if within else "unverified", found, expected, None if within else beyond)

    def _q6_followed(self, chosen: dict) -> Verdict:
        """The variant run, where I0 and I1 are other digits of their classes that the notebook cannot foresee: are
        the files the first run wrote for them (``chosen``: {"I0"/"I1": [relative path, ...]}, the targets reached,
        smallest change first) adversarial for the new digits too, as M reads them, within the bound, and made from
        them (not the first run's change added to them)? Per image the best of its files counts; when none is
        ``correct``, what each file showed goes into the note."""
        v = self.variant
        if v.run is None:
            return Verdict("unverified", note=f"the images could not be checked on the variant data ({v.note}): a "
                                              f"human should decide")
        wrong, unsure, good = [], [], []
        rank = {"correct": 0, "unverified": 1, "wrong": 2}
        for n, rels in chosen.items():
            seen = sorted((self._q6_on_variant(n, rel) for rel in rels), key=lambda r: rank[r[0]])
            verdict = seen[0][0]
            texts = [seen[0][1]] if verdict == "correct" else [t for _, t in seen]
            {"wrong": wrong, "unverified": unsure, "correct": good}[verdict].extend(texts)
        if wrong or unsure:
            return Verdict("wrong" if wrong else "unverified", note="; ".join(wrong + unsure + good))
        return Verdict("correct", note="the images followed the data: on other digits of the same classes, drawn by "
                                       "the grader, the run wrote adversarial images within the bound: " + "; ".join(good))

    def _q6_on_variant(self, n: str, rel: str) -> tuple[str, str]:
        """(verdict, sentence) for the image the variant run wrote in place of ``rel`` (the first run's I_n')."""
        from ..solvers.mnist_model import predict_proba

        v = self.variant
        base, vbase = self.ref.q6_images[n], v.ref.q6_images[n]
        other = v.q6_digits.get(n, f"another digit of {n}'s class")
        if np.array_equal(base, vbase):
            return "unverified", f"the variant run kept the quiz's {n} (no other digit to draw): a human should decide"
        first = {**self.run.rewritten, **self.run.pngs}[rel]                   # (28, 28) the first run's I_n'
        vim = v.run.pngs.get(rel, v.run.rewritten.get(rel))
        if vim is None:                                            # written under another name: the nearest to I_n
            near = [(_l2(im, vbase), p) for p, im in v.run.pngs.items()
                    if min(v.ref.q6_images, key=lambda m: _l2(im, v.ref.q6_images[m])) == n]
            if near:
                rel = min(near)[1]
                vim = v.run.pngs[rel]
        if vim is None:
            failed = Checks(v.run, v.ref)._failed(6)
            if rel in v.run.copies:
                return "unverified", (f"on {n} = {other}, the run wrote {rel} with the pixels of an image already "
                                      f"there (the new digit unchanged?): its attack did nothing to a digit it had not "
                                      f"seen (a gradient that vanished, or images made beforehand): a human should decide")
            return "unverified", (f"on {n} = {other}, the run wrote no new image for it"
                                  + (f" ({failed.note})" if failed else " (an attack that saves only on success, or "
                                     "images made beforehand)") + ": a human should decide")
        if _l2(vim, base) <= _l2(vim, vbase):
            return "wrong", (f"{rel} did not follow {n} when {n} became {other} (it is nearer the quiz's {n} than the "
                             f"new digit): pre-made?")
        same = _same_change(first, base, vim, vbase)
        if same is not None and same >= SAME_CHANGE:
            return "wrong", (f"on {n} = {other}, {rel} is {n}'s new digit plus the change the first run made to the "
                             f"quiz's {n} (cosine {same:.3f} over the pixels neither image clips; honest attacks on "
                             f"two digits stay under {SAME_CHANGE:g}): a perturbation made beforehand")
        p = predict_proba(v.ref.q6_model, vim[None])[0]                       # (10,)
        pred, l2 = int(p.argmax()), _l2(vim, vbase)
        moved = int((vim != vbase).sum())
        said = f"on {n} = {other}, {rel}: L2 {l2:.3f}, {moved} pixels changed, read by M as {pred} (p = {p[pred]:.2f})"
        if pred not in Q6_TARGETS[n]:
            return "unverified", (f"{said}, not a target: the notebook's attack does not reach the target on a digit "
                                  f"it had not seen (a weak attack, or images made beforehand): a human should decide")
        if l2 > L2_NOTHING_LEFT:      # the bound itself is judged on the quiz's own images (the answer): on a digit
            return "unverified", f"{said}, with a change beyond L2 {L2_NOTHING_LEFT:g}: a human should decide"
        return "correct", said + (f" (beyond L2 {L2_MOST:g} on this digit: the attack reached the target on a digit "
                                  f"it had not seen)" if l2 > L2_MOST else "")

    # Q7 -----------------------------------------------------------------
    def q7(self) -> Verdict:
        want = self.ref.q7_grads
        expected = (f"the quiz's main block runs both passes; xinit.grad {want[0]:g} then {want[1]:g} at xinit = 1 "
                    f"(and quiz1's fixed class's values at other xinit)")
        apart = self.q7_apart or {"classes": [], "error": None}
        expect_at = self.ref.q7_grads_at
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
        sec_code = "\n".join(c.source for c in self.section(7))
        at_one = lambda rec: next(x for x in rec["runs"] if x["xinit"] == 1.0)["grads"]  # noqa: E731
        sources = class_sources(apart.get("definitions") or "")
        doubts = {rec["name"]: self._q7_doubt(rec, sources.get(rec["name"], "")) for rec in passing}
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
            if QUIZ_Q7_ERROR.search(err):
                if re.search(r"retain_graph\s*=\s*True", sec_code):
                    return Verdict("unverified", f"class {name}: {err}", expected,
                                   "uses retain_graph=True: that hides the error and keeps every old graph alive "
                                   "(memory grows with each call); the class itself is not fixed: a human should decide")
                return Verdict("wrong", f"class {name}: {err}", expected, "the quiz's main block still fails with "
                               "this class: the bug is not fixed")
            return Verdict("unverified", f"class {name}: {err}", expected,
                           "the class could not run apart from the notebook (it may need a name the section defines "
                           "outside a class): a human should check the fix")
        if apart.get("error"):
            return Verdict("unverified", None, expected, f"the Q7 section's classes could not run apart from the "
                           f"notebook ({apart['error']}): a human should check the fix")
        failed = self._failed(7)
        if failed is not None and self.section(7):
            return Verdict("error", None, expected, failed.note)
        shown = [c for c in self.section(7) if c.text.strip()]
        if shown:
            return Verdict("wrong", self._found_numbers(7) or shown[0].text.strip()[:120], expected,
                           "an answer typed in: the Q7 section prints but defines no class to run the quiz's main "
                           "block with (printed text is not a fix)")
        return Verdict("missing", None, expected, "no class in the Q7 section to run the quiz's main block with"
                       if self.section(7) else "no section for it")

    @staticmethod
    def _q7_doubt(rec: dict, source: str) -> str | None:
        """Why a class whose values pass is not simply fixed: it replaced what the main block calls (a patched
        ``backward`` passing ``retain_graph=True``), or it asks for ``retain_graph`` itself; None when neither."""
        if rec.get("replaced"):
            return (f"class `{rec['name']}` replaced {', '.join(rec['replaced'][:4])} while it ran (e.g. a backward "
                    f"that passes retain_graph=True): the class itself is not fixed")
        if re.search(r"retain_graph", source):
            return (f"class `{rec['name']}` uses retain_graph: that hides the error and keeps every old graph alive "
                    f"(memory grows with each call)")
        return None

    def quiz_error_shown(self, q7: Verdict):
        """With a correct Q7, the quiz's own RuntimeError shown in the Q7 section (before the fix) is not a fault."""
        return (lambda e: q7.status == "correct" and bool(QUIZ_Q7_ERROR.search(e.exception))
                and any(c.error is e for c in self.section(7)))
