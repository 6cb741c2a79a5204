"""The README's "real report" and docs/grade_report.png, made again from scratch by the grader of today.

1. A TA's data folder: the embedded stand-in data and a seeded, untrained CustomModel as data/Q6/model.pth
   (``tests/students.py``'s ``seeded_data``: the same on every machine).
2. A0123456X.zip, a student-style submission written here from the tests' student cells: an ``<h2>`` heading and
   pandas in Q1, Q2 computed in a function, Q3 in the student's own notation with a ``\\delta`` defined first, Q4 an
   exact formula for one file, a network over the quiz's limit and an untrained one, Q5 a trained MLP, Q6 a plain
   gradient attack, Q7 as an ``nn.Module`` after showing the quiz's error.
3. ``quiz1 check A0123456X.zip --data data --model data/Q6/model.pth`` (bubblewrap sandbox, variant run: the
   defaults); its table is printed as the README shows it, with the wall time.
4. A class of three: that zip, A0000001B (a 3-digit mean typed in, I0/I1 copied as the "adversarial" images, the
   Q7 message printed) and A0000002C (Q1 and Q7 answered, then ``os._exit(1)`` in the Q6 section), graded by
   ``quiz1 grade class --out out --data data --model data/Q6/model.pth``; the top of out/report.html photographed
   by headless Chromium.

    PYTHONPATH=src python docs/readme_report.py [--png docs/grade_report.png] [--work DIR]

Without ``--work`` everything is written to a temporary folder and removed at the end.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
sys.path[:0] = [str(ROOT / "src"), str(TESTS), str(ROOT / "bench")]
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
from q45_apart import constants  # noqa: E402  (a test file's student notebooks, without importing it)

from students import Q1_NUMPY, Q6_ATTACK, Q7_FIXED, code, make_zip, md, q1_losses, seeded_data  # noqa: E402

RED = constants(TESTS / "test_red_team.py")          # Q2_IN_A_FUNCTION, Q7_MODULE_AFTER_THE_ERROR, Q7_MODULE_FIX
OPEN = constants(TESTS / "test_open_questions.py")   # Q4_EXACT, Q4_NETWORKS, Q5_MLP, TWO_HIDDEN

Q1_PANDAS = """
import logging
import numpy as np
import pandas as pd
z, y = np.loadtxt('Q_1/data.txt'), np.loadtxt('Q_1/labels.txt')
z = z - z.max(1, keepdims=True)
l = -(y * (z - np.log(np.exp(z).sum(1, keepdims=True)))).sum(1)
print(f'Mean CE: {l.mean():.4f}.')
print(f'Total: {l.sum():,.2f}')
logging.warning('per-sample losses computed for %d samples', len(l))
pd.DataFrame({'loss': l}).describe()
"""

# Q3 in the student's own notation: lower-case w and v, a delta and a step function H defined before the answer
Q3_TEXT = [
    r"With $f_j = \sum_{i=1}^{3} w_{ij} x_i$ and $H$ the unit step (the derivative of ReLU), let "
    r"$\delta = \sigma(s) - y$, the derivative of the loss with respect to $s$.",
    r"$$\frac{\partial L}{\partial x_i} = \delta \sum_{j=1}^{2} w_{ij}\left(H(f_j) + v_j\right)$$",
]


def q4_cell() -> str:
    """Q4: the first file by an exact formula (the tests' ``Q4_EXACT``, its ellipse), the second by a network over the
    quiz's 10,000 parameters and the third by a network never trained (the tests' ``Q4_NETWORKS``, its last two)."""
    exact, big = "# 3-D -> 2-D: an ellipsoid", "# 3-D -> 2-D with a big network"
    assert exact in OPEN["Q4_EXACT"] and big in OPEN["Q4_NETWORKS"]
    first = OPEN["Q4_EXACT"].split(exact)[0]
    rest = OPEN["Q4_NETWORKS"].split(big)[1]
    return (first + "print('Q1Q4I1 max reconstruction error', np.abs(dec1(enc1(X1)) - X1).max())\n\n"
            "import torch\ntorch.manual_seed(0)\n\n" + big + rest)


def readme_student() -> list:
    return [md("<h2>Question 1</h2>"), code(Q1_PANDAS),
            md("## Question 2: the tree"), code(RED["Q2_IN_A_FUNCTION"]),
            md("## Question 3"), *[md(t) for t in Q3_TEXT],
            md("## Question 4"), code(q4_cell()),
            md("## Question 5"), code(OPEN["Q5_MLP"].format(hidden=OPEN["TWO_HIDDEN"], steps=2000)),
            md("## Question 6"), code(Q6_ATTACK.format(steps=300, step=0.05)),
            md("## Question 7"), code(RED["Q7_MODULE_AFTER_THE_ERROR"]), code(RED["Q7_MODULE_FIX"])]


def typed_in_student(data: Path) -> list:
    """A 3-digit mean typed into the code, I0/I1 saved again unchanged as the "adversarial" images, Q7's final
    message printed."""
    mean = q1_losses(data).mean()
    return [md("## Question 1"), code(f"print('mean CE loss:', {mean:.3g})"),
            md("## Question 6"), code("import shutil\nshutil.copy('Q_6/I0.png', 'Q_6/I0_adv.png')\n"
                                      "shutil.copy('Q_6/I1.png', 'Q_6/I1_adv.png')\n"
                                      "print('I0_adv is classified as 1, I1_adv as 7')"),
            md("## Question 7"), code("print('----- first time ----- ')\nprint('----- well done ----- ')")]


def dying_student() -> list:
    """Q1 and Q7 answered, then the kernel ended by the notebook's own code in the Q6 section."""
    return [md("## Question 1"), code(Q1_NUMPY.format(digits=4)), md("## Question 7"), code(Q7_FIXED),
            md("## Question 6"), code("import os\nos._exit(1)"), code("print('attack done')")]



def quiz1(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "quiz1.cli", *args], cwd=cwd, capture_output=True, text=True)
    return done, time.monotonic() - t0


def screenshot(page: Path, png: Path, size: str = "1200,1775") -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--allow-file-access-from-files", "--virtual-time-budget=5000", f"--window-size={size}",
                    f"--screenshot={png.resolve()}", page.as_uri()], check=True, capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--png", default=str(ROOT / "docs" / "grade_report.png"), help="where report.html's picture goes")
    ap.add_argument("--work", help="a folder to keep data/, the zips and out/ in (default: a temporary one)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="quiz1-readme-") as tmp:
        work = Path(a.work or tmp)
        if a.work and work.exists() and any(work.iterdir()):
            sys.exit(f"{work} is not empty")
        work.mkdir(parents=True, exist_ok=True)
        data = seeded_data(work / "data")
        klass = work / "class"
        klass.mkdir()
        make_zip(klass / "A0123456X.zip", data, {"A0123456X.ipynb": readme_student()})
        make_zip(klass / "A0000001B.zip", data, {"A0000001B.ipynb": typed_in_student(data)})
        make_zip(klass / "A0000002C.zip", data, {"A0000002C.ipynb": dying_student()})
        shutil.copy(klass / "A0123456X.zip", work / "A0123456X.zip")
        model = "data/Q6/model.pth"

        done, spent = quiz1("check", "A0123456X.zip", "--data", "data", "--model", model, "--quiet", cwd=work)
        print(f"$ quiz1 check A0123456X.zip --data data --model {model}   (exit {done.returncode}, {spent:.1f} s)")
        print(done.stdout.rstrip())
        if done.stderr.strip():
            print(done.stderr.rstrip(), file=sys.stderr)

        done, spent = quiz1("grade", "class", "--out", "out", "--data", "data", "--model", model, "--quiet", cwd=work)
        print(f"\n$ quiz1 grade class --out out --data data --model {model}   (exit {done.returncode}, {spent:.1f} s)")
        print(done.stdout.rstrip())
        if done.stderr.strip():
            print(done.stderr.rstrip(), file=sys.stderr)
        print((work / "out" / "grades.csv").read_text().rstrip())
        screenshot(work / "out" / "report.html", Path(a.png))
        print(f"wrote {a.png}")


if __name__ == "__main__":
    main()
