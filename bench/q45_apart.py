"""What taking Q4's and Q5's models out of the kernel costs a zip: the fresh kernels, and quiz1's exact charts.

Grades student-style zips with a Q4 and a Q5 section (the honest notebook of tests/test_q45_out_of_reach.py, and the
exact formulas and trained MLP of tests/test_open_questions.py) against the tests' stand-in data, or the real data
(--data), sandboxed, no variant run, and prints per zip: the whole grading, the evaluation in fresh kernels
(``questions.models.run_models_apart``: the Q4 encoders and Q5 models in one kernel, the Q4 decoders in a second), and the search
for quiz1's exact charts of the three Q4 files (``reference.exact_chart``, paid once per data set: it is cached).

    python bench/q45_apart.py [--data QUIZ_DATA] [--no-sandbox]
"""
from __future__ import annotations

import argparse
import ast
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))
from students import code, make_zip, md, seeded_data  # noqa: E402  (the tests' student-style pieces)


def constants(path: Path) -> dict:
    """The module-level string constants of a test file (its student notebooks), without importing it."""
    ns = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.BinOp)):
            exec(compile(ast.Module([node], []), str(path), "exec"), ns)
    return ns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="a Quizz_data folder (default: the tests' stand-in data)")
    ap.add_argument("--no-sandbox", action="store_true")
    a = ap.parse_args()
    from quiz1.grading import grade, reference
    from quiz1.grading.cohort.batch import Options, make_executor
    from quiz1.grading.questions import models

    new = constants(TESTS / "test_q45_out_of_reach.py")
    old = constants(TESTS / "test_open_questions.py")
    notebooks = {
        "codec classes + MLP with buffers": (new["Q4_HONEST"], new["Q5_HONEST"]),
        "exact functions + trained MLP": (old["Q4_EXACT"], old["Q5_MLP"].format(hidden=old["TWO_HIDDEN"], steps=2000)),
        "memorisers + MLP times 0": (new["Q4_MEMORISERS"], new["Q5_TIMES_ZERO"]),
    }
    spent = []
    original = models.run_models_apart

    def timed(*args, **kwargs):
        t0 = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.monotonic() - t0)
    models.run_models_apart = timed
    with tempfile.TemporaryDirectory(prefix="quiz1-bench-") as tmp:
        tmp = Path(tmp)
        data = Path(a.data) if a.data else seeded_data(tmp / "data")
        from quiz1.data.loaders import load_cloud

        t0 = time.monotonic()
        for name in reference.Q4_FILES:
            hits = sorted(data.rglob(name))
            if hits:
                reference.exact_chart(load_cloud(hits[0]))
        charts = time.monotonic() - t0
        executor = make_executor(Options(threads=1, sandbox=not a.no_sandbox))
        model = next(iter(sorted(data.rglob("model.pth"))), None)
        print(f"quiz1's exact charts of the three Q4 files: {charts:.1f} s (once per data set)")
        print(f"{'notebook':<36}{'grading (s)':>12}{'fresh kernels (s)':>19}{'Q4':>12}{'Q5':>12}")
        for k, (title, (q4, q5)) in enumerate(notebooks.items()):
            cells = [md("## Question 4"), code(q4), md("## Question 5"), code(q5)]
            path = make_zip(tmp / f"A930010{k}X.zip", data, {f"A930010{k}X.ipynb": cells})
            rep = grade.grade_submission(path, progress=False, executor=executor, data=data, model=model,
                                         timeout=300, variants=0)
            q = rep.questions
            print(f"{title:<36}{rep.seconds:>12.1f}{spent[-1]:>19.1f}{q['Q4'].status:>12}{q['Q5'].status:>12}")


if __name__ == "__main__":
    main()
