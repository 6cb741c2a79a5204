"""Speed, old against new, side by side: the build, the notebook's execution, and (optionally) the test suite.

For each source tree (this checkout, and an older revision checked out with ``git worktree``) it runs, one at a
time in fresh processes with that tree's ``src`` first on ``PYTHONPATH``:

* ``quiz1 build`` on the embedded data with the stand-in already cached, and again with an empty model cache
  (the stand-in trained there: what a fresh machine does);
* ``quiz1 build --data ../shared/quiz/Quizz_data --mnist ../shared/mnist`` (real data, stand-in cached);
* from each executed notebook, the execution wall time (first cell started to last cell replied, as nbclient
  records it) and its three slowest cells;
* with ``--tests``, ``pytest -q`` in that tree.

    .venv/bin/python bench/speed.py --old e7d5b5f [--tests]

Run it on an idle machine (two heavy jobs on two cores slow each other down), after one ``quiz1 build`` with and
one without ``--data`` so both stand-ins are in the model cache (the two trees share it: the same training, the
same key).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TARGETS = {"build, embedded data, stand-in cached": 120, "build, embedded data, stand-in trained": 200,
           "notebook execution, embedded data": 100, "notebook execution, real data": 100, "pytest -q": 360}


def _run(tree: Path, args: list[str], env: dict | None = None) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), **(env or {})}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; from quiz1.cli import main; sys.exit(main(sys.argv[1:]))", *args],
                   check=True, env=env, cwd=tree, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _execution(zip_path: Path) -> tuple[float, list[tuple[float, str]]]:
    """Wall time of the notebook's execution and its slowest cells, from nbclient's timing metadata."""
    with zipfile.ZipFile(zip_path) as zf:
        nb = nbformat.reads(zf.read(next(n for n in zf.namelist() if n.endswith(".ipynb"))).decode(), as_version=4)
    stamp = lambda s: dt.datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    timed = [c for c in nb.cells if c.cell_type == "code" and "shell.execute_reply" in c.metadata.get("execution", {})]
    start = stamp(timed[0].metadata.execution["iopub.execute_input"])
    end = stamp(timed[-1].metadata.execution["shell.execute_reply"])
    cells = sorted(((stamp(c.metadata.execution["shell.execute_reply"]) - stamp(c.metadata.execution["iopub.execute_input"]))
                    .total_seconds(), c.source.splitlines()[0][:60]) for c in timed)[::-1]
    return (end - start).total_seconds(), cells[:3]


def measure(tree: Path, tests: bool) -> dict:
    out = {}
    with tempfile.TemporaryDirectory(prefix="quiz1-speed-") as tmp:
        tmp = Path(tmp)
        out["build, embedded data, stand-in cached"] = _run(tree, ["build", "--out", str(tmp / "e"), "--force", "--quiet"])
        out["notebook execution, embedded data"], slow_e = _execution(tmp / "e" / "A0000000X.zip")
        out["build, embedded data, stand-in trained"] = _run(tree, ["build", "--out", str(tmp / "t"), "--force", "--quiet"],
                                                             {"QUIZ1_CACHE": str(tmp / "empty-cache")})
        if (SHARED / "quiz" / "Quizz_data").is_dir():
            out["build, real data, stand-in cached"] = _run(tree, ["build", "--data", str(SHARED / "quiz" / "Quizz_data"),
                                                                   "--mnist", str(SHARED / "mnist"), "--out", str(tmp / "r"),
                                                                   "--force", "--quiet"])
            out["notebook execution, real data"], slow_r = _execution(tmp / "r" / "A0000000X.zip")
            out["slowest cells, real data"] = slow_r
        out["slowest cells, embedded data"] = slow_e
    if tests:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tree,
                       env={**os.environ, "PYTHONPATH": str(tree / "src")}, stdout=subprocess.DEVNULL)
        out["pytest -q"] = time.perf_counter() - t0
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default="e7d5b5f", help="the revision to compare with (default: main before #18)")
    ap.add_argument("--tests", action="store_true", help="also time pytest in both trees (about 20 minutes more)")
    args = ap.parse_args(argv)
    new_rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="quiz1-old-") as wt:
        subprocess.run(["git", "worktree", "add", "-q", "--detach", wt, args.old], cwd=REPO, check=True)
        try:
            old = measure(Path(wt), args.tests)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", wt], cwd=REPO)
    new = measure(REPO, args.tests)
    print(f"\n{'measure (seconds)':<42}{'old ' + args.old:>14}{'new ' + new_rev:>14}{'target':>9}")
    for k in [k for k in new if not k.startswith("slowest")]:
        print(f"{k:<42}{old.get(k, float('nan')):>14.1f}{new[k]:>14.1f}{TARGETS.get(k, ''):>9}")
    for k in [k for k in new if k.startswith("slowest")]:
        print(f"\n{k}:")
        for label, rows in (("old", old.get(k, [])), ("new", new[k])):
            print(f"  {label}: " + "; ".join(f"{s:.1f} s {src!r}" for s, src in rows))


if __name__ == "__main__":
    main()
