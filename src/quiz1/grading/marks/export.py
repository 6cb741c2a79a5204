"""Marks out of the gradebook: a per-question CSV, and the course's own Canvas gradebook export with one column filled.

Canvas's gradebook import takes the file its export gives (``Student, ID, SIS User ID, SIS Login ID, ..., Section``,
then one column per assignment, ``Quiz 1 (123456)``, and a ``Points Possible`` row); quiz1 fills one assignment
column, matching each row's SIS User ID or SIS Login ID to a submission's student id, and leaves every other cell as
it was. What reaches Canvas is only what the TAs decided:

- the column is the assignment's, named exactly or by its Canvas id (``Quiz 1 - Softmax & Autograd (12345)`` by
  ``Quiz 1 - Softmax & Autograd`` or ``12345``); no match is a refusal naming the assignments there are, never a new
  column (Canvas would create a new assignment on import);
- a cell that already holds a score (or ``EX``) is kept unless ``overwrite``, and each one is listed either way;
- a student with an item that waits for a human (``gradebook.waiting``: not marked, or flagged) makes the export
  refuse, unless ``allow_pending``, which leaves that student's cell as it was (blank in a new column) and lists it;
- two submissions for one student are one student's: ``choose`` keeps the zip the TA names, or the latest zip, or
  the one a TA marked, and otherwise refuses naming both;
- the file is read as UTF-8 (with or without a byte-order mark) or, failing that, Windows-1252 (Excel's "CSV (Comma
  delimited)"), and the reader says which; it is written in UTF-8, with a byte-order mark when the export had one
  or came from Excel. Canvas's own export is UTF-8 and adds the mark only where a user turned on "include byte-order
  mark" (for Excel, which reads UTF-8 without it as Windows-1252 and garbles names); its import reads both.

Written by hand with the ``csv`` module: the format is a plain CSV with these conventions.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ...data.atomic import atomic_path, write_text
from ..questions import names as question_names
from ..report import template
from .gradebook import MACHINE, items, rubric_items, waiting
from .rubric import Rubric

CANVAS_IDS = ("SIS User ID", "SIS Login ID")
POINTS_POSSIBLE = "Points Possible"
WITH_ID = re.compile(r"^(.*\S)\s+\((\d+)\)$")          # Canvas's "<assignment name> (<assignment id>)"
READ_ONLY = re.compile(r"\b(Current|Final|Unposted)\b.*\b(Score|Points|Grade)\b|\bOverride\b")
BOM = b"\xef\xbb\xbf"


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
    pending: tuple         # questions waiting for a human (not marked, or flagged)
    zip_time: str | None = None   # the zip's modification time when it was graded (UTC, ISO 8601), when known
    items: dict = field(default_factory=dict)        # question -> the rubric items applied ({id, text, points}, ...)
    adjustments: dict = field(default_factory=dict)  # question -> the adjustment on top of them (None: none)

    @property
    def ta_marked(self) -> bool:
        """A TA set at least one of its marks."""
        return any(b not in (None, MACHINE) for b in self.by.values())


def _zip_time(out: Path, stem: str) -> str | None:
    try:
        return json.loads((out / f"{stem}.json").read_text())["grader"].get("zip_time")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def class_marks(out: str | Path, rubric: Rubric) -> list[StudentMarks]:
    """Every graded submission's marks, from the gradebook (each mark as its items and adjustment make it now)."""
    texts = {(r["question"], r["id"]): r for r in rubric_items(out)}
    rows: dict[str, list] = {}
    for it in items(out):
        if it["graded"]:
            rows.setdefault(it["stem"], []).append(it)
    result = []
    for stem, its in sorted(rows.items(), key=lambda kv: (kv[1][0]["student_id"] or "", kv[0])):
        marks = {it["question"]: it["marks"] for it in its}
        total = sum(m or 0 for q, m in marks.items() if not rubric.questions[q].bonus)
        bonus = sum(m or 0 for q, m in marks.items() if rubric.questions[q].bonus)
        wait = {it["question"] for it in its if waiting(it)}
        result.append(StudentMarks(stem, its[0]["zip"], its[0]["student_id"], marks,
                                   {it["question"]: it["marked_by"] for it in its},
                                   {it["question"]: it["comment"] for it in its}, total, bonus,
                                   tuple(q for q in question_names() if q in wait), _zip_time(Path(out), stem),
                                   {it["question"]: tuple({"id": i, "text": texts[it["question"], i]["text"],
                                                           "points": texts[it["question"], i]["points"]}
                                                          for i in it["applied"] if (it["question"], i) in texts)
                                    for it in its},
                                   {it["question"]: it["adjustment"] for it in its}))
    return result


def duplicates(marks: list[StudentMarks]) -> dict[str, list[StudentMarks]]:
    """Student id -> its submissions, for every student with more than one."""
    by_id: dict[str, list[StudentMarks]] = {}
    for m in marks:
        if m.student_id:
            by_id.setdefault(m.student_id.upper(), []).append(m)
    return {sid: ms for sid, ms in sorted(by_id.items()) if len(ms) > 1}


def choose(marks: list[StudentMarks], prefer: list[str] | str | None = None) -> tuple[list[StudentMarks], list[str]]:
    """One submission per student, and a line saying each choice made.

    A student with several submissions keeps the zip named in ``prefer`` (its name or stem), else the latest zip
    when ``prefer`` holds ``"latest"`` (its modification time when graded), else the only one a TA marked; otherwise
    ``ValueError`` naming them all (the TA chooses: nothing is picked at random).
    """
    prefer = [prefer] if isinstance(prefer, str) else list(prefer or [])
    named = {p.upper() for p in prefer if p != "latest"}
    chosen = {m.stem for m in marks}
    said = []
    for sid, ms in duplicates(marks).items():
        names = ", ".join(m.zip for m in ms)
        picked = [m for m in ms if {m.zip.upper(), m.stem.upper()} & named]
        marked = [m for m in ms if m.ta_marked]
        if len(picked) == 1:
            keep, why = picked[0], "named by --prefer"
        elif "latest" in prefer:
            unknown = [m.zip for m in ms if not m.zip_time]
            if unknown:
                raise ValueError(f"{sid}: {len(ms)} submissions ({names}) and the time of {', '.join(unknown)} is not "
                                 f"recorded (graded by an older quiz1); grade them again with --force, or name the "
                                 f"one to export: --prefer ZIP")
            keep = max(ms, key=lambda m: m.zip_time)
            why = f"the latest ({keep.zip_time})"
        elif len(marked) == 1:
            keep, why = marked[0], "the one a TA marked"
        else:
            raise ValueError(f"{sid}: {len(ms)} submissions ({names}) and {len(marked) or 'none'} of them carry a TA's "
                             f"mark; choose one: --prefer latest (the zip's time), --prefer ZIP (its name), or mark "
                             f"only the one to export (quiz1 mark OUTDIR ZIP_STEM QUESTION MARKS --by NAME)")
        chosen -= {m.stem for m in ms if m is not keep}
        said.append(f"{sid}: {len(ms)} submissions ({names}); exported {keep.zip}, {why}")
    return [m for m in marks if m.stem in chosen], said


def marks_csv(marks: list[StudentMarks], rubric: Rubric) -> str:
    """One row a submission: each question's marks and who set them, the total out of the base marks, the bonus, the
    TAs' comments, and the ids of the rubric items applied to each question."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student_id", "zip", *question_names(), f"total (of {rubric.base:g})", f"bonus (of {rubric.bonus:g})",
                "pending", *(f"{q} marked by" for q in question_names()), *(f"{q} comment" for q in question_names()),
                *(f"{q} items" for q in question_names())])
    for m in marks:
        w.writerow([m.student_id or "", m.zip, *("" if m.marks.get(q) is None else f"{m.marks[q]:g}" for q in question_names()),
                    f"{m.total:g}", f"{m.bonus:g}", " ".join(m.pending), *(m.by.get(q) or "" for q in question_names()),
                    *(m.comments.get(q) or "" for q in question_names()),
                    *(" ".join(i["id"] for i in m.items.get(q, ())) for q in question_names())])
    return buf.getvalue()


@dataclass(frozen=True)
class CanvasResult:
    column: str
    filled: int
    pending: tuple          # (student id, questions) left as they were: a human has not marked every question
    no_submission: int      # Canvas students without a submission
    unmatched: tuple        # submissions (zip names) that match no Canvas student
    kept: tuple = ()        # (student, Canvas's score, quiz1's) where Canvas's score was kept (no --overwrite)
    overwritten: tuple = ()  # (student, Canvas's score, quiz1's) replaced with --overwrite
    encoding: str = "UTF-8"  # how the export was read
    bom: bool = False        # the file written starts with UTF-8's byte-order mark


def read_canvas(path: str | Path) -> tuple[list[list[str]], str, bool, str]:
    """The rows of a Canvas export, how it was read (``"UTF-8"``, ``"UTF-8 with a byte-order mark"``,
    ``"Windows-1252"``), whether to write a byte-order mark back, and its field separator; ``ValueError`` naming the
    file otherwise."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: not a readable file ({e.__class__.__name__})") from None
    try:
        text, how, bom = raw.decode("utf-8-sig"), "UTF-8 with a byte-order mark" if raw.startswith(BOM) else "UTF-8", \
            raw.startswith(BOM)
    except UnicodeDecodeError:
        try:
            text, how, bom = raw.decode("cp1252"), "Windows-1252 (as Excel saves 'CSV (Comma delimited)')", True
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: neither UTF-8 nor Windows-1252 (byte {raw[e.start]:#04x} at {e.start}); export "
                             f"it from Canvas again, or save it from Excel as 'CSV UTF-8'") from None
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","   # Canvas's "semicolon separators" option
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    except csv.Error as e:
        raise ValueError(f"{path}: not a readable CSV file ({e})") from None
    return rows, how, bom, sep


def _column(head: list[str], assignment: str, path: Path) -> int:
    """The one column of ``assignment``: its name or its Canvas id exactly, or the whole header; else ValueError."""
    want = assignment.strip()
    found = []
    for i, h in enumerate(head):
        h = h.strip()
        m = WITH_ID.match(h)
        if (m and want in (m.group(1), m.group(2))) or (h == want and h not in ("Student", "ID", "Section", *CANVAS_IDS)
                                                        and not READ_ONLY.search(h)):
            found.append(i)
    if len(found) == 1:
        return found[0]
    if found:
        raise ValueError(f"{path}: --assignment '{want}' matches {len(found)} columns "
                         f"({', '.join(repr(head[i]) for i in found)}); give the Canvas id in brackets instead")
    there = [h for h in head if WITH_ID.match(h.strip())]
    raise ValueError(f"{path}: no column for the assignment '{want}' (its name or Canvas id, exactly); the assignments "
                     f"there are {', '.join(repr(h) for h in there) if there else 'none'}; quiz1 never adds a column "
                     f"(Canvas would create a new assignment): pass --assignment with one of them")


def _same(a: str, b: str) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-9
    except ValueError:
        return a == b


def fill_canvas(canvas_export: str | Path, dest: str | Path, marks: list[StudentMarks], rubric: Rubric,
                assignment: str, missing_zero: bool = False, overwrite: bool = False,
                allow_pending: bool = False) -> CanvasResult:
    """Fill the ``assignment`` column of ``canvas_export`` with total + bonus and write the result to ``dest``.

    ``marks``: one submission per student (``choose``). ``ValueError`` (and nothing written) when the file is not a
    Canvas gradebook export, no column or several match ``assignment``, or, without ``allow_pending``, a student of
    the file has an item that waits for a human.
    """
    path = Path(canvas_export)
    rows, how, bom, sep = read_canvas(path)
    if not rows or not all(c in rows[0] for c in ("Student", *CANVAS_IDS)):
        raise ValueError(f"{path}: header: expected Canvas's gradebook columns Student, SIS User ID and SIS Login ID "
                         f"but found {', '.join(rows[0][:6]) if rows else 'an empty file'}")
    head = rows[0]
    col = _column(head, assignment, path)
    ids = [head.index(c) for c in CANVAS_IDS]
    by_id = {m.student_id.upper(): m for m in marks if m.student_id}
    used, pending, kept, overwritten, missing, filled = set(), [], [], [], 0, 0
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
            new = "0" if missing_zero else None
        else:
            used.add(m.stem)
            if m.pending:
                pending.append((m.student_id, m.pending))
                continue
            new = f"{m.total + m.bonus:g}"
        old = r[col].strip()
        if new is None:
            continue
        if old and old != "N/A" and _same(old, new):   # Canvas holds quiz1's score already: the cell as it was
            filled += m is not None
            continue
        if old and old != "N/A":
            who = f"{r[0].strip()} ({next((r[i].strip() for i in ids if r[i].strip()), '?')})"
            (overwritten if overwrite else kept).append((who, old, new))
            if not overwrite:
                continue
        r[col] = new
        filled += m is not None
    if pending and not allow_pending:
        waits = "; ".join(f"{sid} {' '.join(qs)}" for sid, qs in pending)
        raise ValueError(f"{path}: nothing written: {sum(len(qs) for _, qs in pending)} item(s) of "
                         f"{len(pending)} student(s) wait for a human ({waits}); mark them (quiz1 review OUTDIR), or "
                         f"pass --allow-pending to export with those students' cells left as they are")
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
    with atomic_path(dest) as tmp:
        tmp.write_bytes((BOM if bom else b"") + buf.getvalue().encode("utf-8"))
    return CanvasResult(head[col], filled, tuple(pending), missing, tuple(m.zip for m in marks if m.stem not in used),
                        tuple(kept), tuple(overwritten), how, bom)


def write_feedback(out: str | Path, folder: str | Path, marks: list[StudentMarks], rubric: Rubric,
                   reveal: bool = False) -> list[Path]:
    """``folder/<student id>.html`` per submission of ``marks`` (one per student: ``choose``), in the student's words:
    each question's mark, the rubric items applied with their text and points, an adjustment on top of them, the
    TA's comment, and with ``reveal`` the expected value next to what was found (self-contained, everything escaped;
    nothing of the grader's own notes). ``ValueError`` when two submissions would write one page."""
    names = [(m.student_id or m.stem).upper() for m in marks]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"feedback: {', '.join(twice)} would get one page for two submissions; choose one "
                         f"(--prefer latest, or a TA's mark)")
    by_item = {(it["stem"], it["question"]): it for it in items(out)}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for m in marks:
        shown = {}
        for q in question_names():
            e = json.loads(by_item[m.stem, q]["evidence"]) if (m.stem, q) in by_item else {}
            shown[q] = {"found": e.get("found"), "expected": e.get("expected")}
        dest = folder / f"{m.student_id or m.stem}.html"
        write_text(dest, template("feedback.html.j2").render(m=m, rubric=rubric, questions=question_names(),
                                                             shown=shown, reveal=reveal))
        written.append(dest)
    return written
