"""Marks out of the gradebook: a per-question CSV, and the course's own Canvas gradebook export with one column filled.

Canvas's gradebook import takes the file its export gives (``Student, ID, SIS User ID, SIS Login ID, ..., Section``,
then one column per assignment, ``Quiz 1 (123456)``, and a ``Points Possible`` row); quiz1 fills one assignment
column, matching each row's SIS User ID or SIS Login ID to a submission's student id, and leaves every other cell as
it was. A student with no submission is left blank (or 0 with ``missing_zero``); a student whose marks still wait
for a human is left blank and listed; a submission that matches no student is listed, never dropped. Written by
hand with the ``csv`` module: the format is a plain CSV with these conventions.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..data.atomic import write_text
from .gradebook import items
from .report import QUESTIONS, template
from .rubric import Rubric

CANVAS_IDS = ("SIS User ID", "SIS Login ID")
POINTS_POSSIBLE = "Points Possible"


@dataclass(frozen=True)
class StudentMarks:
    """One submission's marks: per question (None: a human has not marked it yet), who set each, the sums."""

    stem: str
    zip: str
    student_id: str | None
    marks: dict            # question -> marks or None
    by: dict               # question -> "machine", a TA's name, or None
    comments: dict
    total: float           # the base questions' marks
    bonus: float           # the bonus questions' marks
    pending: tuple         # questions still waiting for a human


def class_marks(out: str | Path, rubric: Rubric) -> list[StudentMarks]:
    """Every graded submission's marks, from the gradebook."""
    rows: dict[str, list] = {}
    for it in items(out):
        if it["graded"]:
            rows.setdefault(it["stem"], []).append(it)
    result = []
    for stem, its in sorted(rows.items(), key=lambda kv: (kv[1][0]["student_id"] or "", kv[0])):
        marks = {it["question"]: it["marks"] for it in its}
        total = sum(m or 0 for q, m in marks.items() if not rubric.questions[q].bonus)
        bonus = sum(m or 0 for q, m in marks.items() if rubric.questions[q].bonus)
        result.append(StudentMarks(stem, its[0]["zip"], its[0]["student_id"], marks,
                                   {it["question"]: it["marked_by"] for it in its},
                                   {it["question"]: it["comment"] for it in its}, total, bonus,
                                   tuple(q for q in QUESTIONS if marks.get(q) is None)))
    return result


def marks_csv(marks: list[StudentMarks], rubric: Rubric) -> str:
    """One row a submission: each question's marks and who set them, the total out of the base marks, the bonus."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student_id", "zip", *QUESTIONS, f"total (of {rubric.base:g})", f"bonus (of {rubric.bonus:g})",
                "pending", *(f"{q} marked by" for q in QUESTIONS), *(f"{q} comment" for q in QUESTIONS)])
    for m in marks:
        w.writerow([m.student_id or "", m.zip, *("" if m.marks.get(q) is None else f"{m.marks[q]:g}" for q in QUESTIONS),
                    f"{m.total:g}", f"{m.bonus:g}", " ".join(m.pending), *(m.by.get(q) or "" for q in QUESTIONS),
                    *(m.comments.get(q) or "" for q in QUESTIONS)])
    return buf.getvalue()


@dataclass(frozen=True)
class CanvasResult:
    column: str
    filled: int
    pending: tuple          # student ids left blank: a human has not marked every question
    no_submission: int      # Canvas students without a submission
    unmatched: tuple        # submissions (zip names) that match no Canvas student


def fill_canvas(canvas_export: str | Path, dest: str | Path, marks: list[StudentMarks], rubric: Rubric,
                assignment: str, missing_zero: bool = False) -> CanvasResult:
    """Fill the ``assignment`` column (its name, or the name before Canvas's `` (id)``; a new column when absent) of
    ``canvas_export`` with total + bonus and write the result to ``dest``; ``ValueError`` naming the file and the
    column when it is not a Canvas gradebook export."""
    path = Path(canvas_export)
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{path}: not a readable CSV file ({e.__class__.__name__})") from None
    if not rows or not all(c in rows[0] for c in ("Student", *CANVAS_IDS)):
        raise ValueError(f"{path}: header: expected Canvas's gradebook columns Student, SIS User ID and SIS Login ID "
                         f"but found {', '.join(rows[0][:6]) if rows else 'an empty file'}")
    head = rows[0]
    col = next((i for i, h in enumerate(head) if h == assignment or h.startswith(f"{assignment} (")), None)
    if col is None:
        head.append(assignment)
        col = len(head) - 1
        for r in rows[1:]:
            r.append("")
    ids = [head.index(c) for c in CANVAS_IDS]
    by_id = {m.student_id.upper(): m for m in marks if m.student_id}
    used, pending, missing, filled = set(), [], 0, 0
    for r in rows[1:]:
        r += [""] * (len(head) - len(r))
        if r[0].strip() == POINTS_POSSIBLE:
            r[col] = r[col] or f"{rubric.base:g}"
            continue
        if not r[0].strip() and not any(r[i].strip() for i in ids):   # Canvas's other header rows ("Manual Posting")
            continue
        m = next((by_id[r[i].strip().upper()] for i in ids if r[i].strip().upper() in by_id), None)
        if m is None:
            missing += 1
            r[col] = "0" if missing_zero else ""
            continue
        used.add(m.stem)
        if m.pending:
            pending.append(m.student_id)
            r[col] = ""
            continue
        r[col] = f"{m.total + m.bonus:g}"
        filled += 1
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    write_text(dest, buf.getvalue())
    return CanvasResult(head[col], filled, tuple(pending), missing, tuple(m.zip for m in marks if m.stem not in used))


def write_feedback(out: str | Path, folder: str | Path, marks: list[StudentMarks], rubric: Rubric) -> list[Path]:
    """``folder/<student id>.html`` per submission: each question's marks, the grader's evidence, the TA's comment
    (self-contained, everything escaped)."""
    import json


    by_item = {(it["stem"], it["question"]): it for it in items(out)}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for m in marks:
        evidence = {q: {"verdict": by_item[m.stem, q]["verdict"], **json.loads(by_item[m.stem, q]["evidence"])}
                    for q in QUESTIONS if (m.stem, q) in by_item}
        dest = folder / f"{m.student_id or m.stem}.html"
        write_text(dest, template("feedback.html.j2").render(m=m, rubric=rubric, questions=QUESTIONS,
                                                                       evidence=evidence))
        written.append(dest)
    return written
