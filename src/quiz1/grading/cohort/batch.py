"""Grade a whole class: one task per zip, in parallel on this machine or on a dask.distributed cluster.

Each task is ``grade_one``: ``grade_submission`` with the sandboxed executor,
never raising (a broken, hostile or endless zip gives a row that says what
happened). Tasks return everything (report and executed notebooks) to the
caller, which alone writes ``OUTDIR``: workers of a cluster need to read the
zips, not to share the output folder. Locally the tasks run in a process pool
(``--jobs``); with ``--scheduler`` the same function goes to dask's ``Client``,
which is imported only then.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ...data.atomic import write_text
from ..questions import class_views, figures
from ..questions import names as question_names
from ..report import VERDICTS, template


@dataclass(frozen=True)
class Options:
    """Settings every task gets (picklable, so a cluster's workers get them too)."""

    timeout: float = 600
    budget: float = 1800
    memory_gib: float = 4.0
    trust_model: bool = False
    sandbox: bool = True
    threads: int = 1
    data: str | None = None        # the TA's quiz data (folder or zip); None: each zip's own
    model: str | None = None       # the TA's M; None: each zip's own Q_6/model.pth
    variants: int = 1              # the second run on changed data (0: off)
    python: str | None = None      # the interpreter the kernels run (a course's environment); None: quiz1's own
    mnist: str | None = None       # MNIST IDX folder for Q6's variant digits; None: scikit-learn's digits


def quiz1_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quiz1")
    except PackageNotFoundError:
        return "unknown"


def zip_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def zip_time(path: Path) -> str | None:
    """The zip file's modification time, UTC, ISO 8601 (``export --prefer latest`` orders a student's submissions by
    it); None when it cannot be read."""
    from datetime import datetime, timezone

    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    except OSError:
        return None


def make_executor(opts: Options):
    """The executor every zip of a class runs through (the sandboxed one unless ``opts.sandbox`` is off)."""
    if not opts.sandbox:
        from ..running.run import plain_executor, run_notebook

        return plain_executor(opts.python) if opts.python else run_notebook
    from ..running.sandbox import sandboxed_executor

    return sandboxed_executor(memory_gib=opts.memory_gib, threads=opts.threads, python=opts.python)


def machine_check(opts: Options) -> str | None:
    """The self-check (``canary.self_check``) through ``make_executor(opts)``: why this machine cannot grade, or None.
    A task of its own, so a cluster runs it on a worker."""
    from ..running.canary import self_check

    return self_check(make_executor(opts))


def options_key(opts: Options) -> dict:
    """What a verdict depends on among the options (the cache key holds it): the data, M and the MNIST files by
    content, not by path; threads only change the speed."""
    from ..running.datasets import data_fingerprint, file_sha256

    key = {k: v for k, v in asdict(opts).items() if k not in ("threads", "data", "model", "mnist")}
    mnist = None if opts.mnist is None else sorted(file_sha256(p) for p in Path(opts.mnist).glob("t10k-*"))
    return {**key, **data_fingerprint(opts.data, opts.model), "mnist": mnist}


def not_graded(zip_name: str, cause: str) -> dict:
    """The row of a zip the grading machine could not grade: no verdict, not cached, retried on the next run."""
    return {"student_id": None, "passed": None, "graded": False, "not_graded": cause, "zip": zip_name, "notebooks": [],
            "layout": {"problems": [], "warnings": []},
            "execution": {"seconds": 0.0, "timed_out": False, "kernel_died": False, "interrupted": False,
                          "stop_reason": "", "errors": []},
            "questions": {}}


def grade_one(zip_path: str, opts: Options, key: dict | None = None) -> dict:
    """Grade one zip; never raises. Returns {"report": the ``check --json`` object plus "grader", "notebooks":
    {file name: executed notebook text}}. A zip the machine could not grade gets ``not_graded``'s row."""
    from ..grade import grade_submission
    from ..running.canary import MachineError

    zip_path = Path(zip_path)
    t0 = time.monotonic()
    grader = {"quiz1_version": quiz1_version(), "zip_sha256": None, "sandbox": None,
              "options": key if key is not None else options_key(opts), "zip_time": zip_time(zip_path)}
    notebooks = {}
    try:
        grader["zip_sha256"] = zip_sha256(zip_path)
        executor = make_executor(opts)
        grader["sandbox"] = getattr(executor, "description", None) or \
            "none (--no-sandbox): the notebook ran with the grader's own permissions"
        with tempfile.TemporaryDirectory(prefix="quiz1-keep-") as keep:
            rep = grade_submission(zip_path, timeout=opts.timeout, budget=opts.budget, trust_model=opts.trust_model,
                                   progress=False, executor=executor, keep_dir=keep, data=opts.data, model=opts.model,
                                   variants=opts.variants, mnist=opts.mnist)
            # the main notebook first (<stem>.ipynb, then <stem>-2.ipynb, ...): by name, "-" sorts before "."
            kept = sorted(Path(keep).glob("*.ipynb"), key=lambda p: (p.stem != zip_path.stem, len(p.name), p.name))
            notebooks = {p.name: p.read_text() for p in kept}
        report = rep.to_json()
    except ValueError as e:  # nothing to grade in this zip (not a readable zip): the student's
        msg = (str(e).splitlines()[0] if str(e) else e.__class__.__name__).replace(str(zip_path), zip_path.name)
        report = {"student_id": None, "passed": False, "zip": zip_path.name, "notebooks": [],
                  "layout": {"problems": [f"nothing to grade: {msg}"], "warnings": []},
                  "execution": {"seconds": 0.0, "timed_out": False, "kernel_died": False, "interrupted": False,
                                "stop_reason": "", "errors": []},
                  "questions": {q: {"status": "missing", "found": None, "expected": None, "note": "nothing to grade"}
                                for q in question_names()}}
    except MachineError as e:
        report = not_graded(zip_path.name, str(e).removeprefix("not graded: "))
    except Exception as e:  # noqa: BLE001 -- one zip must never stop the class; the grader's failure, not the student's
        msg = (str(e).splitlines()[0] if str(e) else "").replace(str(zip_path), zip_path.name)
        report = not_graded(zip_path.name, f"the grader failed on this zip ({e.__class__.__name__}{': ' + msg if msg else ''})")
    report["grader"] = {**grader, "seconds": round(time.monotonic() - t0, 2)}
    return {"report": report, "notebooks": notebooks}


def _stems(zips: list[Path]) -> list[str]:
    """Output names, one per zip: the zip's stem, made unique."""
    seen, out = {}, []
    for z in zips:
        stem = z.stem
        n = seen.get(stem, 0)
        seen[stem] = n + 1
        out.append(stem if n == 0 else f"{stem}~{n + 1}")
    return out


def _done(out: Path, stem: str, zip_path: Path, key: dict) -> dict | None:
    """The report already written for this zip by this version of quiz1 with these options, or None (a zip the
    machine could not grade is never done)."""
    p = out / f"{stem}.json"
    try:
        rep = json.loads(p.read_text())
        g = rep["grader"]
        if (rep.get("graded", True) and g["quiz1_version"] == quiz1_version() and g.get("options") == key
                and g["zip_sha256"] == zip_sha256(zip_path)):
            return rep
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None


def collect_zips(inputs: list[str]) -> list[Path]:
    """Every ``.zip`` named, or inside the folders named (not recursing), sorted; ``ValueError`` for a missing path."""
    zips = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            zips += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() == ".zip")
        elif p.is_file():
            zips.append(p)
        else:
            raise ValueError(f"{p}: no such file or folder")
    return zips


def grade_class(zips: list[Path], out: Path, opts: Options = Options(), *, jobs: int | None = None,
                scheduler: str | None = None, force: bool = False, progress: bool = True, rubric=None) -> list[dict]:
    """Grade every zip into ``out`` (grades.csv, <stem>.json, <stem>.ipynb, report.html, gradebook.sqlite); return
    the reports. ``rubric``: the marks the gradebook proposes (default quiz1's); a TA's marks there are kept.

    The machine's self-check runs first, where the zips will run (here, or on a worker of ``scheduler``); when it
    fails, ``MachineError`` is raised and nothing is written.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    stems = _stems(zips)
    reports: dict[int, dict] = {}
    todo = []
    key = options_key(opts)
    for i, (z, stem) in enumerate(zip(zips, stems)):
        done = None if force else _done(out, stem, z, key)
        if done is not None:
            reports[i] = done
        else:
            todo.append(i)
    with contextlib.ExitStack() as stack:
        client = None
        if todo and scheduler:
            from dask.distributed import Client, as_completed

            client = stack.enter_context(Client(scheduler))
            _refuse_if(client.submit(machine_check, opts, pure=False).result())
        elif todo:
            _refuse_if(machine_check(opts))
        out.mkdir(parents=True, exist_ok=True)
        bar = stack.enter_context(tqdm(total=len(zips), initial=len(zips) - len(todo), desc="grading submissions",
                                       unit="zip", disable=not progress))

        def keep(i, res):
            rep = res["report"]
            for k, (_name, text) in enumerate(res["notebooks"].items()):     # grade_one's order: the main one first
                write_text(out / f"{stems[i]}{'' if k == 0 else f'-{k + 1}'}.ipynb", text)
            write_text(out / f"{stems[i]}.json", json.dumps(rep, indent=2))
            reports[i] = rep
            bar.update(1)

        try:
            if client is not None:
                futures = {client.submit(grade_one, str(zips[i]), opts, key, key=f"quiz1-{stems[i]}-{i}", pure=False): i
                           for i in todo}
                for fut in as_completed(futures):
                    keep(futures[fut], _result(fut, zips[futures[fut]]))
            elif todo:
                import concurrent.futures as cf
                import multiprocessing

                jobs = max(1, jobs or os.cpu_count() or 1)
                with cf.ProcessPoolExecutor(max_workers=min(jobs, len(todo)),
                                            mp_context=multiprocessing.get_context("spawn")) as pool:
                    futures = {pool.submit(grade_one, str(zips[i]), opts, key): i for i in todo}
                    for fut in cf.as_completed(futures):
                        keep(futures[fut], _result(fut, zips[futures[fut]]))
        finally:
            rows = [reports[i] for i in sorted(reports)]
            if rows:
                from ..marks import gradebook
                from ..marks.rubric import load_rubric

                rubric = rubric or load_rubric()
                for i in sorted(reports):
                    gradebook.record(out, stems[i], reports[i], rubric)
                from .similarity import write_similarity

                try:
                    similar = write_similarity(out)
                except Exception as e:  # noqa: BLE001 -- a failed comparison must not cost the class its grade sheet
                    similar = None
                    print(f"quiz1: similar submissions not computed ({e.__class__.__name__}: {e})", file=sys.stderr)
                whole = class_reports(out, {stems[i]: reports[i] for i in sorted(reports)})
                write_sheet(out, list(whole.values()), list(whole), rubric, similar)
    return [reports[i] for i in range(len(zips))]


def class_reports(out: Path, fresh: dict) -> dict:
    """Stem -> report of every submission in ``out``'s gradebook (read from ``<stem>.json``), with ``fresh`` ones (this
    run's) in place: a run on one zip keeps the rest of the class in grades.csv and report.html. Sorted by stem."""
    from ..marks.gradebook import connect

    with contextlib.closing(connect(out)) as db:
        stems = [r["stem"] for r in db.execute("SELECT stem FROM submissions")]
    whole = {}
    for stem in stems:
        if stem not in fresh:
            try:
                whole[stem] = json.loads((out / f"{stem}.json").read_text())
            except (OSError, ValueError):
                continue
    whole.update(fresh)
    return dict(sorted(whole.items()))


def _refuse_if(problem: str | None) -> None:
    from ..running.canary import MachineError

    if problem:
        raise MachineError(f"grading refused, nothing was graded: {problem}")


def _result(fut, zip_path: Path) -> dict:
    """A task's result; a task that died with its worker (``BrokenProcessPool``, a lost dask worker) is that zip's
    ``not graded`` row, never the end of the class."""
    try:
        return fut.result()
    except Exception as e:  # noqa: BLE001
        return {"report": not_graded(zip_path.name, f"its grading process failed ({e.__class__.__name__})"),
                "notebooks": {}}


def write_sheet(out: Path, reports: list[dict], stems: list[str], rubric=None, similar=None) -> None:
    """grades.csv (one row a zip) and report.html (one self-contained page, with the gradebook's marks when
    ``rubric`` is given)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student_id", "zip", *question_names(), "errors", "seconds", "passed", "problems", "caveats"])
    for r in reports:
        w.writerow([r.get("student_id") or "", r.get("zip"), *(_status(r, q) for q in question_names()),
                    len(_faults(r)), r.get("grader", {}).get("seconds", r["execution"]["seconds"]),
                    "not graded" if r.get("graded") is False else r.get("passed"),
                    " | ".join(_run_problems(r) + r["layout"]["problems"]), " | ".join(r.get("caveats", []))])
    write_text(out / "grades.csv", buf.getvalue())
    write_text(out / "report.html", report_html(reports, stems, marks_summary(out, rubric) if rubric else None,
                                                similar))


def _status(r: dict, q: str) -> str:
    if r.get("graded", True) is False:
        return NOT_GRADED
    return ((r.get("questions") or {}).get(q) or {}).get("status") or "missing"


def _run_problems(r: dict) -> list[str]:
    """What went wrong with the run, in words: the grading machine's failure first, then why the run stopped."""
    e = r["execution"]
    if r.get("graded") is False:
        return [f"not graded: {r.get('not_graded')}"]
    if e.get("stop_reason"):  # "the kernel died while running In [7] (exit code 1 ...)": says it all
        return [e["stop_reason"]]
    return ((["kernel died"] if e.get("kernel_died") else []) + (["timed out"] if e.get("timed_out") else [])
            + (["interrupted"] if e.get("interrupted") else []))


NOT_GRADED = "not graded"
COLOURS = {"correct": "#c8e6c9", "wrong": "#ffcdd2", "unverified": "#fff9c4", "error": "#ffe0b2", "missing": "#e0e0e0",
           NOT_GRADED: "#b3e5fc"}


def _with_defaults(r: dict) -> dict:
    """A report's JSON with the parts the class page reads filled in where it lacks them (a report of an older quiz1,
    or edited by hand, in OUTDIR: the page shows it rather than failing)."""
    run = {"seconds": 0.0, "timed_out": False, "kernel_died": False, "interrupted": False, "stop_reason": "",
           "errors": [], **(r.get("execution") or {})}
    return {"zip": "", "passed": False, "questions": {}, **r, "execution": run,
            "layout": {"problems": [], "warnings": [], **(r.get("layout") or {})}}


def _faults(r: dict) -> list[dict]:
    """The run's errors that count (not the quiz's own error shown on purpose before its fix)."""
    return [e for e in r["execution"]["errors"] if not e.get("cause", "").startswith("shown on purpose")]


def _histogram_svg(values: list[float], top: float) -> str:
    """A small bar chart (inline SVG) of how many students got each mark from 0 to ``top``, in steps of 0.5, each
    bar's count written over it."""
    bins = [k / 2 for k in range(int(2 * top) + 1)]
    counts = [sum(abs(v - b) < 0.25 for v in values) for b in bins]
    most = max(counts) or 1
    w = 14
    bars = "".join(f"<rect x='{i * w}' y='{50 - 36 * c / most:.1f}' width='{w - 2}' height='{36 * c / most:.1f}' "
                   f"fill='#5c6bc0'><title>{b:g}: {c}</title></rect>"
                   + (f"<text x='{i * w + (w - 2) / 2:.1f}' y='{47 - 36 * c / most:.1f}' font-size='8' "
                      f"text-anchor='middle'>{c}</text>" if c else "")
                   for i, (b, c) in enumerate(zip(bins, counts)))
    labels = "".join(f"<text x='{i * w + 2}' y='62' font-size='9'>{b:g}</text>" for i, b in enumerate(bins) if b == int(b))
    return f"<svg width='{len(bins) * w}' height='64' role='img'>{bars}{labels}</svg>"


def marks_summary(out: Path, rubric, pass_mark: float | None = None) -> dict:
    """Per question: the mean mark over the marked items, a histogram, how many wait for a human (not marked, or
    flagged: ``gradebook.waiting``); the class totals and their summary at ``pass_mark`` (``marks.summary``; None:
    the rubric's default); the students with more than one submission."""
    from ..marks.export import class_marks, duplicates
    from ..marks.gradebook import items
    from ..marks.summary import summarise

    marks = class_marks(out, rubric)
    per_q = {}
    for q in question_names():
        got = [m.marks[q] for m in marks if m.marks.get(q) is not None]
        top = rubric.questions[q].marks
        per_q[q] = {"mean": sum(got) / len(got) if got else None, "max": top, "pending": sum(q in m.pending for m in marks),
                    "svg": _histogram_svg(got, top)}
    twice = duplicates(marks)
    pending = [(m.stem if (m.student_id or "").upper() in twice else m.student_id or m.stem, m.stem, q)
               for m in marks for q in m.pending]   # a student with two submissions: the one meant, by its zip
    return {"questions": per_q, "pending": pending, "base": rubric.base, "bonus": rubric.bonus,
            "totals": {m.stem: (m.total, m.bonus, m.pending) for m in marks},
            "duplicates": {sid: [m.zip for m in ms] for sid, ms in twice.items()},
            "summary": summarise(marks, rubric, pass_mark, items(out))}


def class_page(out: Path, rubric, pass_mark: float | None = None, live: bool = False) -> tuple[str, object]:
    """``report.html`` made again from ``out`` as it is now: every submission's ``<stem>.json`` in the gradebook, the
    gradebook's current marks and their summary at ``pass_mark`` (``marks.summary``), the similar pairs of
    ``similarity.csv`` when there; and the summary. ``live``: served by ``quiz1 review`` (a pass-mark form, links to
    each student's page)."""
    from .similarity import read_similarity

    out = Path(out)
    whole = class_reports(out, {})
    marks = marks_summary(out, rubric, pass_mark)
    return report_html(list(whole.values()), list(whole), marks, read_similarity(out), live=live), marks["summary"]


def report_html(reports: list[dict], stems: list[str], marks: dict | None = None, similar=None,
                live: bool = False) -> str:
    """The class on one page (``templates/report.html.j2``): the class summary (with ``marks``), verdict counts per
    question, the class table linking each student, and each student's problems, caveats, errors and notes, coloured
    by verdict. Everything a student wrote is escaped (Jinja2's autoescape). ``live``: the page ``quiz1 review``
    serves (a form for the pass mark, a link to each student's page); else a file, with no link out of it."""

    kinds = (*VERDICTS, NOT_GRADED)
    counts = {q: {v: 0 for v in kinds} for q in question_names()}
    students = []
    reports = [_with_defaults(r) for r in reports]
    for r, stem in zip(reports, stems):
        for q in question_names():
            counts[q][_status(r, q)] += 1
        verdicts = []
        for q in question_names() if r.get("graded", True) else ():
            v = r["questions"].get(q) or {"status": _status(r, q)}
            bits = [f"found {v['found']}" if v.get("found") else "",
                    f"expected {v['expected']}" if v.get("expected") and v["status"] != "correct" else "",
                    v.get("note") or ""]
            verdicts.append({"q": q, "status": v["status"], "text": "; ".join(b for b in bits if b)})
        students.append({
            "anchor": r.get("student_id") or stem, "stem": stem, "zip": r["zip"],
            "statuses": [_status(r, q) for q in question_names()],
            "errors": len(_faults(r)), "seconds": f"{r['execution']['seconds']:.0f}",
            "passed": NOT_GRADED if r.get("graded") is False else     # the column's words: every question correct
            ("yes" if all(_status(r, q) == "correct" for q in question_names()) else "no"),
            "sandbox": r.get("grader", {}).get("sandbox"), "problems": _run_problems(r) + r["layout"]["problems"],
            "warnings": r["layout"]["warnings"], "caveats": r.get("caveats", []),
            "error_lines": [e["text"] for e in r["execution"]["errors"]], "verdicts": verdicts})
    shown = [k for k in kinds if k != NOT_GRADED or any(counts[q][k] for q in question_names())]
    for st, r in zip(students, reports):
        st["figures"] = figures(r)
    for st, stem in zip(students, stems):
        total = (marks or {}).get("totals", {}).get(stem)
        st["marks"] = None if total is None else (f"{total[0]:g} + {total[1]:g}" + (" (pending)" if total[2] else ""))
    return template("report.html.j2").render(questions=question_names(), kinds=shown, counts=counts,
                                                     colours=COLOURS, students=students, marks=marks,
                                                     similar=similar, class_views=class_views(reports, stems),
                                                     live=live)
