"""Zips per minute for `quiz1 grade`: --jobs 1 and 2, each with the variant run (the default) and without it.

Writes N student-style submissions (Q1 in numpy, Q7 fixed, and a small targeted attack for Q6 on a seeded, untrained
CustomModel, so each has real work), grades the folder against the TA's data (--data, --model) with each setting, and
prints a table. The variant run executes each notebook a second time on changed data, so it costs about a second run.

With --own-build the class is N copies of quiz1's own build on the same data (all seven questions answered: Q3's
formula, Q4's exact charts, Q5's MLP), so the table also holds what the grader's apart-processes cost (Q4 and Q5
evaluated in fresh sandboxed kernels on new points, Q7's harness) and Q6's variant on other digits. Run it with an
older quiz1 on the path (PYTHONPATH=old/src) for the figures before a change.

    python bench/grade_throughput.py [--n 6] [--no-sandbox] [--jobs 1 2] [--own-build]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from students import Q1_NUMPY, Q6_ATTACK, Q7_FIXED, code, make_zip, md  # noqa: E402  (the tests' student-style pieces)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=6, help="submissions (default 6)")
    ap.add_argument("--no-sandbox", action="store_true")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs settings to time (default 1 2)")
    ap.add_argument("--own-build", action="store_true", help="grade copies of quiz1's own build (all seven questions)")
    a = ap.parse_args()
    import torch

    from quiz1.cli import main as quiz1
    from quiz1.data.standin import write_standin
    from quiz1.solvers.mnist_model import CustomModel

    with tempfile.TemporaryDirectory(prefix="quiz1-bench-") as tmp:
        tmp = Path(tmp)
        write_standin(tmp / "data")
        torch.manual_seed(0)
        torch.save(CustomModel().state_dict(), tmp / "data" / "Q6" / "model.pth")
        (tmp / "class").mkdir()
        cells = [md("## Question 1"), code(Q1_NUMPY.format(digits=4)), md("## Q6"),
                 code(Q6_ATTACK.format(steps=150, step=0.02)), md("## Q7"), code(Q7_FIXED)]
        if a.own_build:     # built once (not timed), then copied: the zip's name is the student's id
            import shutil

            quiz1(["build", "--data", str(tmp / "data"), "--out", str(tmp / "built"), "--quiet"])
            built = next((tmp / "built").glob("*.zip"))
        for k in range(a.n):
            sid = f"A{9000000 + k:07d}Z"
            if a.own_build:
                shutil.copy(built, tmp / "class" / f"{sid}.zip")
            else:
                make_zip(tmp / "class" / f"{sid}.zip", tmp / "data", {f"{sid}.ipynb": cells})
        rows = []
        for variants in (1, 0):
            for jobs in a.jobs:
                t0 = time.monotonic()
                out = tmp / f"out-{jobs}-{variants}"
                quiz1(["grade", str(tmp / "class"), "--out", str(out), "--jobs", str(jobs), "--quiet",
                       "--data", str(tmp / "data"), "--model", str(tmp / "data" / "Q6" / "model.pth"),
                       "--variants", str(variants)] + (["--no-sandbox"] if a.no_sandbox else []))
                rows.append((jobs, variants, time.monotonic() - t0))
    print(f"\n{'--jobs':>6}  {'--variants':>10}  {'seconds':>8}  {'zips/min':>8}")
    for jobs, variants, sec in rows:
        print(f"{jobs:>6}  {variants:>10}  {sec:8.1f}  {60 * a.n / sec:8.2f}")
    by = {(j, v): sec for j, v, sec in rows}
    for jobs in a.jobs:
        print(f"--jobs {jobs}: the variant run costs x{by[jobs, 1] / by[jobs, 0]:.2f} the time of one run")
    what = "copies of quiz1's own build" if a.own_build else "submissions"
    print(f"{a.n} {what}, "
          f"{'no sandbox' if a.no_sandbox else 'bubblewrap sandbox'}, the self-check included")


if __name__ == "__main__":
    main()
