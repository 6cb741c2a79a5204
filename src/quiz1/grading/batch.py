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

import csv
import hashlib
import html
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .report import QUESTIONS, VERDICTS


@dataclass(frozen=True)
class Options:
    """Settings every task gets (picklable, so a cluster's workers get them too)."""

    timeout: float = 600
    budget: float = 1800
    memory_gib: float = 4.0
    trust_model: bool = False
    sandbox: bool = True
    threads: int = 1


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


def grade_one(zip_path: str, opts: Options) -> dict:
    """Grade one zip; never raises. Returns {"report": the ``check --json`` object plus "grader", "notebooks":
    {file name: executed notebook text}}."""
    from .grade import grade_submission

    zip_path = Path(zip_path)
    t0 = time.monotonic()
    grader = {"quiz1_version": quiz1_version(), "zip_sha256": None, "sandbox": None}
    try:
        grader["zip_sha256"] = zip_sha256(zip_path)
        executor = None
        if opts.sandbox:
            from .sandbox import sandboxed_executor

            executor = sandboxed_executor(memory_gib=opts.memory_gib, threads=opts.threads)
            grader["sandbox"] = executor.description
        else:
            grader["sandbox"] = "none (--no-sandbox): the notebook ran with the grader's own permissions"
        with tempfile.TemporaryDirectory(prefix="quiz1-keep-") as keep:
            rep = grade_submission(zip_path, timeout=opts.timeout, budget=opts.budget, trust_model=opts.trust_model,
                                   progress=False, executor=executor, keep_dir=keep)
            notebooks = {p.name: p.read_text() for p in sorted(Path(keep).glob("*.ipynb"))}
        report = rep.to_json()
    except Exception as e:  # noqa: BLE001 -- one zip must never stop the class
        msg = (str(e).splitlines()[0] if str(e) else e.__class__.__name__).replace(str(zip_path), zip_path.name)
        report = {"student_id": None, "passed": False, "zip": zip_path.name, "notebooks": [],
                  "layout": {"problems": [f"not graded: {msg}"], "warnings": []},
                  "execution": {"seconds": 0.0, "timed_out": False, "kernel_died": False, "interrupted": False,
                                "errors": []},
                  "questions": {q: {"status": "missing", "found": None, "expected": None, "note": "not graded"}
                                for q in QUESTIONS}}
        notebooks = {}
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


def _done(out: Path, stem: str, zip_path: Path) -> dict | None:
    """The report already written for this zip by this version of quiz1, or None."""
    p = out / f"{stem}.json"
    try:
        rep = json.loads(p.read_text())
        g = rep["grader"]
        if g["quiz1_version"] == quiz1_version() and g["zip_sha256"] == zip_sha256(zip_path):
            return rep
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


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
                scheduler: str | None = None, force: bool = False, progress: bool = True) -> list[dict]:
    """Grade every zip into ``out`` (grades.csv, <stem>.json, <stem>.ipynb, report.html); return the reports."""
    from tqdm.auto import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stems = _stems(zips)
    reports: dict[int, dict] = {}
    todo = []
    for i, (z, stem) in enumerate(zip(zips, stems)):
        done = None if force else _done(out, stem, z)
        if done is not None:
            reports[i] = done
        else:
            todo.append(i)
    bar = tqdm(total=len(zips), initial=len(zips) - len(todo), desc="grading submissions", unit="zip",
               disable=not progress)

    def keep(i, res):
        rep = res["report"]
        for k, (_name, text) in enumerate(sorted(res["notebooks"].items())):
            _write(out / f"{stems[i]}{'' if k == 0 else f'-{k + 1}'}.ipynb", text)
        _write(out / f"{stems[i]}.json", json.dumps(rep, indent=2))
        reports[i] = rep
        bar.update(1)

    try:
        if todo and scheduler:
            from dask.distributed import Client, as_completed

            with Client(scheduler) as client:
                futures = {client.submit(grade_one, str(zips[i]), opts, key=f"quiz1-{stems[i]}-{i}", pure=False): i
                           for i in todo}
                for fut in as_completed(futures):
                    keep(futures[fut], fut.result())
        elif todo:
            import concurrent.futures as cf
            import multiprocessing

            jobs = max(1, jobs or os.cpu_count() or 1)
            with cf.ProcessPoolExecutor(max_workers=min(jobs, len(todo)),
                                        mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(grade_one, str(zips[i]), opts): i for i in todo}
                for fut in cf.as_completed(futures):
                    keep(futures[fut], fut.result())
    finally:
        bar.close()
        rows = [reports[i] for i in sorted(reports)]
        if rows:
            write_sheet(out, rows, [stems[i] for i in sorted(reports)])
    return [reports[i] for i in range(len(zips))]


def write_sheet(out: Path, reports: list[dict], stems: list[str]) -> None:
    """grades.csv (one row a zip) and report.html (one self-contained page)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student_id", "zip", *QUESTIONS, "errors", "seconds", "passed", "problems"])
    for r in reports:
        w.writerow([r.get("student_id") or "", r.get("zip"), *(r["questions"][q]["status"] for q in QUESTIONS),
                    len(r["execution"]["errors"]), r.get("grader", {}).get("seconds", r["execution"]["seconds"]),
                    r.get("passed"), " | ".join(_run_problems(r) + r["layout"]["problems"])])
    _write(out / "grades.csv", buf.getvalue())
    _write(out / "report.html", report_html(reports, stems))


def _run_problems(r: dict) -> list[str]:
    e = r["execution"]
    return (["kernel died"] if e.get("kernel_died") else []) + (["timed out"] if e.get("timed_out") else []) + (
        ["interrupted"] if e.get("interrupted") else [])


COLOURS = {"correct": "#c8e6c9", "wrong": "#ffcdd2", "unverified": "#fff9c4", "error": "#ffe0b2", "missing": "#e0e0e0"}


def report_html(reports: list[dict], stems: list[str]) -> str:
    """The class on one page: a table linking each student, verdict counts per question, and each student's notes."""
    esc = html.escape

    def anchor(r, stem):
        return esc(r.get("student_id") or stem)

    counts = {q: {v: 0 for v in VERDICTS} for q in QUESTIONS}
    for r in reports:
        for q in QUESTIONS:
            counts[q][r["questions"][q]["status"]] += 1
    head = "".join(f"<th>{q}</th>" for q in QUESTIONS)
    summary = "".join(
        f"<tr><th>{v}</th>" + "".join(f"<td style='background:{COLOURS[v]}'>{counts[q][v]}</td>" for q in QUESTIONS)
        + "</tr>" for v in VERDICTS)
    rows = []
    for r, stem in zip(reports, stems):
        cells = "".join(f"<td style='background:{COLOURS[r['questions'][q]['status']]}'>{r['questions'][q]['status']}</td>"
                        for q in QUESTIONS)
        rows.append(f"<tr><td><a href='#{anchor(r, stem)}'>{anchor(r, stem)}</a></td><td>{esc(r['zip'])}</td>{cells}"
                    f"<td>{len(r['execution']['errors'])}</td><td>{'yes' if r['passed'] else 'no'}</td></tr>")
    details = []
    for r, stem in zip(reports, stems):
        items = [f"<li><b>problem</b>: {esc(p)}</li>" for p in _run_problems(r) + r["layout"]["problems"]]
        items += [f"<li>warning: {esc(p)}</li>" for p in r["layout"]["warnings"]]
        items += [f"<li><b>error</b>: {esc(e['text'])}</li>" for e in r["execution"]["errors"]]
        for q in QUESTIONS:
            v = r["questions"][q]
            bits = [f"found {esc(v['found'])}" if v.get("found") else "", f"expected {esc(v['expected'])}"
                    if v.get("expected") and v["status"] != "correct" else "", esc(v["note"]) if v.get("note") else ""]
            items.append(f"<li><span style='background:{COLOURS[v['status']]};padding:0 4px'>{q} {v['status']}</span> "
                         + "; ".join(b for b in bits if b) + "</li>")
        sandbox = r.get("grader", {}).get("sandbox")
        details.append(f"<section id='{anchor(r, stem)}'><h3>{anchor(r, stem)} <small>{esc(r['zip'])} — "
                       f"{r['execution']['seconds']:.0f} s{'; ' + esc(sandbox) if sandbox else ''}</small></h3>"
                       f"<ul>{''.join(items)}</ul></section>")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>quiz1 grades</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;
padding:2px 8px;text-align:left}}section{{border-top:1px solid #ccc;margin-top:1em}}small{{color:#555}}</style></head>
<body><h1>quiz1 grades: {len(reports)} submission(s)</h1>
<h2>Verdicts per question</h2><table><tr><th></th>{head}</tr>{summary}</table>
<h2>Class</h2><table><tr><th>student</th><th>zip</th>{head}<th>errors</th><th>passed</th></tr>{''.join(rows)}</table>
<h2>Students</h2>{''.join(details)}</body></html>
"""
