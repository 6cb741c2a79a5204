"""Zips per minute for `quiz1 grade` with --jobs 1 and --jobs 2 (the class-grading issue's ratio: time(2) / time(1)).

Writes N student-style submissions (Q1 in numpy, Q2 by hand, Q7 fixed, and a small targeted attack for Q6 on a
seeded, untrained CustomModel, so each has real work), grades the folder with each --jobs, and prints a table.

    python bench/grade_throughput.py [--n 6] [--no-sandbox]
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
        cells = [md("## Question 1"), code(Q1_NUMPY.format(digits=4)), md("## Q6"), code(Q6_ATTACK.format(steps=150, step=0.02)),
                 md("## Q7"), code(Q7_FIXED)]
        for k in range(a.n):
            sid = f"A{9000000 + k:07d}Z"
            make_zip(tmp / "class" / f"{sid}.zip", tmp / "data", {f"{sid}.ipynb": cells})
        rows = []
        for jobs in (1, 2):
            t0 = time.monotonic()
            quiz1(["grade", str(tmp / "class"), "--out", str(tmp / f"out{jobs}"), "--jobs", str(jobs), "--quiet"]
                  + (["--no-sandbox"] if a.no_sandbox else []))
            rows.append((jobs, time.monotonic() - t0))
    print(f"\n{'--jobs':>6}  {'seconds':>8}  {'zips/min':>8}")
    for jobs, sec in rows:
        print(f"{jobs:>6}  {sec:8.1f}  {60 * a.n / sec:8.2f}")
    print(f"time(--jobs 2) / time(--jobs 1) = {rows[1][1] / rows[0][1]:.2f} (issue bound: <= 0.75), {a.n} submissions, "
          f"{'no sandbox' if a.no_sandbox else 'bubblewrap sandbox'}")


if __name__ == "__main__":
    main()
