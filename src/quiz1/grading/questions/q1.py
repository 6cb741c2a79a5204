"""Q1, stable softmax and cross-entropy: the loss of the quiz's logits and labels, printed by code of the run.

The mean or the total (or every per-sample loss) counts from a line of a few
numbers, not typed into the code, and (with the variant run) when the same cell
prints the variant data's loss at the same place. A grader cell before any
student cell records which library softmax, log-softmax, logsumexp or
cross-entropy ran in the Q1 section (``kernel/guard.py``): a library loss where
the quiz asks for one from scratch is for a human, as is a bare number among
several bare candidates.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..evidence import Evidence
from ..reading.values import Printed, literal_in_code, matches, numbers
from ..reference import Given
from ..report import Verdict
from ..running.datasets import replace_copies
from ..running.execution import Cell, Insert, Plan
from ..running.layout import find_data_file
from ..running.probes import guard_call_cell

NAME, NUMBER = "Q1", 1
# what a cell of its section does, in a notebook without headings (``sections.by_content``)
CONTENT = re.compile(r"Q_1\b|data\.txt|labels\.txt|cross.?entropy|softmax", re.I)
SCALAR_LINE_MOST, SCALAR_CELL_MOST = 4, 64   # a scalar answer counts from a line of at most 4 numbers, a cell of 64
# the words around a number that do not say what it is (a tensor's or array's repr), and how many other unlabelled
# values make a bare number one candidate among several ("which one is the answer?")
REPR_NOISE = re.compile(r"tensor|array|dtype|float\d*|int\d*|grad_fn=<\w*>|device='?\w*'?|requires_grad|np\.|True|False")
OTHER_CANDIDATES = 3
ALIASES = {"torch.nn.functional.": "F."}


@dataclass(frozen=True)
class Answers:
    """quiz1's Q1 answers for the data of a submission, read before the notebook runs; None each (with the reason in
    ``missing``) when the data is absent or cannot be read."""

    mean: float | None           # the mean cross-entropy of equation 2 over the samples
    total: float | None          # its sum over the samples
    per_sample: tuple | None     # (N,) the per-sample losses
    missing: str | None = None   # why there is no answer, one sentence for the TA


def reference(root: Path, given: Given) -> Answers:
    """The loss of Q_1/data.txt and labels.txt below ``root`` (``solvers.softmax_ce``); never raises on bad data."""
    from ...data.loaders import load_q1
    from ...solvers.softmax_ce import softmax_cross_entropy

    data, labels = find_data_file(root, "data.txt"), find_data_file(root, "labels.txt")
    if data is None or labels is None:
        return Answers(None, None, None, "Q_1/data.txt or Q_1/labels.txt is not in the zip, so there is no reference "
                                         "to check against")
    try:
        d = load_q1(data, labels)
        r = softmax_cross_entropy(d.logits, d.labels)
    except ValueError as e:
        return Answers(None, None, None, f"the Q1 data in the zip cannot be read ({e})")
    return Answers(float(r.mean), float(r.total), tuple(float(v) for v in r.per_sample))


def variant(root: Path, ref: Answers, seed: int, given: Given) -> tuple[list[str], None]:
    """The variant data for the second run (``write_variant``): (the files changed, nothing more to say)."""
    return write_variant(root, seed), None


def write_variant(root: Path, seed: int = 0) -> list[str]:
    """Overwrite the Q1 files below ``root`` with variant data of the same names, shapes and formats: the logits'
    columns permuted and scaled, the labels' rows permuted, until the mean cross-entropy is at least 20% away; in
    every file of the submission holding the quiz file's bytes too. Returns the files changed (relative)."""
    from ...data.loaders import load_q1
    from ...solvers.softmax_ce import softmax_cross_entropy

    rng = np.random.default_rng(seed)
    changed = []
    data, labels = find_data_file(root, "data.txt"), find_data_file(root, "labels.txt")
    if data is not None and labels is not None:
        try:
            q1 = load_q1(data, labels)
        except ValueError:
            q1 = None
        if q1 is not None:
            mean = softmax_cross_entropy(q1.logits, q1.labels).mean
            for _ in range(20):
                z = q1.logits[:, rng.permutation(q1.logits.shape[1])] * rng.uniform(0.6, 1.6)     # (N, M)
                y = q1.labels[rng.permutation(q1.labels.shape[0])]                               # (N, M)
                if abs(softmax_cross_entropy(z, y).mean - mean) >= 0.2 * max(abs(mean), 1e-9):
                    break
            integer = all(tok.lstrip("-").isdigit() for tok in labels.read_text().split()[:200])
            quiz = {p: p.read_bytes() for p in (data, labels)}
            np.savetxt(data, z)
            np.savetxt(labels, y, fmt="%d" if integer else "%.18e")
            changed += [p.relative_to(root).as_posix() for p in (data, labels)]
            for p, old in quiz.items():    # a student's own copy of the download (Quizz_data/Q1/data.txt) too
                changed += replace_copies(root, old, p.read_bytes(), skip=p)
    return changed


def cells(plan: Plan) -> list[Insert]:
    """The guard's call recorder around the section (every cell Q1 shares too): started before it, its record after."""
    return [Insert(guard_call_cell(plan.nonce, "q1_start"), after=False, shared=True),
            Insert(guard_call_cell(plan.nonce, "q1_report"), after=True, reports=True, shared=True)]


def collect(old: dict | None, got: dict, name: str, nb) -> dict:
    """The Q1 record of notebook ``name`` added to ``old``: each call attributed to the cell that ran it. A call made
    while IPython's count was k comes from the cell shown as In [k - 1] (the count moves on as a cell starts)."""
    by_count = {c.execution_count: i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.execution_count}
    out = old or {"cells": {}, "tampered": [], "forged": 0}
    for count, fn in got.get("calls", []):
        i = by_count.get(count - 1) if isinstance(count, int) else None
        if i is not None and fn not in out["cells"].setdefault((name, i), []):
            out["cells"][(name, i)].append(fn)
    out["tampered"] += [t for t in got.get("tampered", []) if t not in out["tampered"]]
    out["forged"] += got.get("forged", 0)
    out["signed"] = out.get("signed", False) or got.get("signed", False)
    return out


def _hits(text: str, mean: float, total: float, per_sample) -> list[tuple[int, str, Printed | None]]:
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

def verdict(ev: Evidence) -> Verdict:
    r: Answers = ev.refs[NAME]
    if r.mean is None:
        failed = ev.failed(NUMBER)
        if ev.work(NUMBER) and failed is None:
            return Verdict("unverified", ev.found_numbers(NUMBER), None, r.missing)
        return failed or Verdict("missing", None, None, r.missing)
    expected = f"mean {r.mean:.6f} or total {r.total:.6f} (or the {len(r.per_sample)} per-sample losses)"
    typed, found = [], None
    for c, inside in ev.ordered(NUMBER):
        for k, kind, p in _hits(c.text, r.mean, r.total, r.per_sample):
            text = f"{kind} {p.text}" if p is not None else f"the {len(r.per_sample)} per-sample losses"
            if p is not None and literal_in_code(p, ev.all_code):
                typed.append(f"{text} ({c.notebook} {c.label})")
                continue
            found = (c, k, kind, text, inside)
            break
        if found:
            break
    if found is None:
        return ev.unmatched(NUMBER, ev.found_numbers(NUMBER), expected, ev.typed_note(typed))
    c, k, kind, text, inside = found
    where = f"{text} ({c.notebook} {c.label})"
    notes = [] if inside else ["printed outside the Q1 section"]
    if ev.variant is not None:
        v: Answers = ev.variant.refs[NAME]
        vc, why = ev.variant_cell(c)
        if vc is None:
            return Verdict("unverified", where, expected, "; ".join(notes + [
                f"the value could not be checked on the variant data ({why}): a human should decide"]))
        want = {"mean": v.mean, "total": v.total, "per-sample": None}[kind]
        got = [h for h in _hits(vc.text, v.mean, v.total, v.per_sample) if h[1] == kind]
        if not any(h[0] == k for h in got):
            seen = numbers(vc.text)
            shown = seen[k].text if k < len(seen) else "nothing"
            return Verdict("wrong", where, expected, "; ".join(notes + [
                f"did not change when the data changed: hard-coded? on the variant data the same cell printed "
                f"{shown} where the {kind} is " + (f"{want:.6f}" if want is not None else "another vector")]))
        notes.append(f"followed the data: on the variant data the same cell printed its {kind}"
                     + (f" {v.mean if kind == 'mean' else v.total:.6g}" if kind != "per-sample" else ""))
    doubt = _library(ev, c) or _which_one(ev, c, k, kind)
    if doubt:
        return Verdict("unverified", where, expected, "; ".join(notes + [doubt]))
    return Verdict("correct", where, expected, "; ".join(notes) or None)

def _library(ev: Evidence, c: Cell) -> str | None:
    """Why the Q1 value needs a human, from the grader's record of the library functions the Q1 section's cells
    (and ``c``, the cell that printed it) called at run time; None when they called none."""
    rec = ev.run.kernel.get(NAME)
    if rec is None:
        return ("the grader's record of the library functions the Q1 section called did not come back "
                "(no Q1 section, or the run stopped in it): a human should check it is computed from scratch")
    if rec.get("tampered") or rec.get("forged") or not rec.get("signed", True):
        what = ", ".join(rec.get("tampered", [])[:4]) or "a forged copy of the grader's record"
        return (f"the notebook replaced what the grader's call recorder relies on ({what}): which functions "
                f"computed it is unknown, a human should decide")
    cells = {(x.notebook, x.index) for x in ev.section(NUMBER)} | {(c.notebook, c.index)}
    used = list(dict.fromkeys(fn for key, fns in rec["cells"].items() if key in cells for fn in fns))
    if not used:
        return None
    named = []
    for fn in ([fn for fn in used if "._C." not in fn] or used)[:3]:     # the function called, not torch's inside
        alias = next((fn.replace(a, b) for a, b in ALIASES.items() if fn.startswith(a)), None)
        named.append(f"`{fn}`" + (f" ({alias})" if alias else ""))
    return (f"computed with the library's {', '.join(named)} (called at run time) where the quiz asks for softmax "
            f"and cross-entropy from scratch: a human should decide")

def _which_one(ev: Evidence, c: Cell, k: int, kind: str) -> str | None:
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
    r: Answers = ev.refs[NAME]
    known = [r.mean, r.total] + list(r.per_sample if r.per_sample is not None else [])
    others = set()
    for cell in {id(x): x for x in ev.section(NUMBER) + [c]}.values():
        for ln in cell.text.splitlines():
            rest = REPR_NOISE.sub(" ", re.sub(r"[-+]?\d[\d.,eE+-]*", " ", ln))
            on_line = numbers(ln)
            if re.search(r"[A-Za-z]", rest) or not on_line or len(on_line) > SCALAR_LINE_MOST:
                continue
            others |= {round(p.value, 6) for p in on_line if re.search(r"[.eE]", p.text)
                       and not any(matches(p, ref) for ref in known)}
    if len(others) < OTHER_CANDIDATES:
        return None
    return (f"printed bare, among {len(others)} other bare values in the section ({', '.join(f'{v:g}' for v in sorted(others)[:4])}"
            f"{', ...' if len(others) > 4 else ''}): which one is the answer? a human should decide")


def shared_wrong(found: str) -> str | None:
    """A wrong answer's value as two students who share it would show it (``similarity``): ``found`` without where it
    was printed."""
    return re.sub(r"\s*\([^()]*\bIn \[\d+\]\)|\s+", " ", found).strip()


def _shown(item: dict) -> str | None:
    """The value an item shows, as ``shared_wrong`` normalises it; a value the verdict matched to quiz1's answer
    (``mean 2.3026``, ``total ...``) as the kind of answer it is, whatever its printed digits."""
    found = item.get("found")
    if not found:
        return None
    value = shared_wrong(found)
    m = re.fullmatch(r"(mean|total) [-+]?[\d.]+(?:[eE][-+]?\d+)?", value)
    return f"the {m.group(1)}, quiz1's value" if m else value


def group_key(item: dict) -> str | None:
    """Q1 groups by the value shown (``shared_wrong``'s; quiz1's mean or total by its kind), the status and the note's reason."""
    from .grouping import value_key

    return value_key(item, _shown(item))


def group_label(item: dict) -> str:
    from .grouping import value_label

    return value_label(item, _shown(item))
