"""The grader against student-style submissions written here, with the verdict a careful TA gives each.

References are computed in the tests themselves (numpy for Q1, the hand-written tree for Q2), never read back
from the grader's own output.
"""
import json
import re
import zipfile

import nbformat
import numpy as np
import pytest

from quiz1.cli import main
from quiz1.grading import grade_submission
from quiz1.grading.questions import content
from quiz1.grading.reading.sections import cell_questions
from quiz1.grading.reading.values import matches, numbers, read_number, vectors
from quiz1.grading.running.layout import extract_submission
from students import Q1_NUMPY, Q1_TORCH_TOTAL, Q6_ATTACK, Q7_FIXED, Q7_RETAIN, code, make_zip, md, q1_losses, seeded_data

# Figure 1 written out by hand, in two students' styles: the natural reading, and one with the subtraction's
# operands swapped (torch draws the same picture for both)
Q2_NATURAL = """
import torch
x = torch.tensor([4., 5., 6.], requires_grad=True)
y = torch.tensor([4., 5., 6.], requires_grad=True)
w = torch.tensor([4., 5., 6.], requires_grad=True)
t1 = x * 5
t2 = x / 5
t3 = t1 * t2 + (x + 5)
t4 = t3 + y - t1
t5 = y + t2
out = t4 + (t5 + t5 / w)
print(out)
"""
Q2_SWAPPED = Q2_NATURAL.replace("t4 = t3 + y - t1", "t4 = t1 - (t3 + y)").replace("print(out)", "out")


def hand_tree(a, b, c, swap=False):
    t1, t2 = a * 5, a / 5
    t3 = t1 * t2 + (a + 5) + b
    t4 = t1 - t3 if swap else t3 - t1
    t5 = b + t2
    return t4 + (t5 + t5 / c)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return seeded_data(tmp_path_factory.mktemp("quizdata"))


def status(rep):
    return {q: v.status for q, v in rep.questions.items()}


# --------------------------------------------------------------------------
# reading a notebook: headings and printed values (no kernel)


@pytest.mark.parametrize("text, q", [
    ("# Question 1", 1), ("## Q2", 2), ("### Question 3", 3), ("**Question 4**", 4), ("Question 1: softmax", 1),
    ("Q2) the tree", 2), ("Q.7 autograd", 7), ("# Q7", 7), ("## question 5 (3 marks)", 5), ("#Q6", 6),
    ("**Q3.** gradient", 3), ("Problem 4", 4), ("## Q4.2 the 3D cloud", 4),
    ("We read Q1Q4I1.txt", None), ("Question 9", None), ("The answer to question 1 is below", None), ("Q12", None),
])
def test_heading_styles(text, q):
    nb = nbformat.v4.new_notebook(cells=[md("intro"), md(text), code("x = 1")])
    got = cell_questions(nb, content())
    if q is None:
        assert got[2] == frozenset(range(1, 8)) or got[2] == frozenset()   # no heading: not a section of its own
        assert len(set(got)) == 1
    else:
        assert got == [frozenset(), frozenset({q}), frozenset({q})]


def test_sections_run_to_the_next_heading_and_code_comments_count():
    nb = nbformat.v4.new_notebook(cells=[code("import numpy"), md("## Q1"), code("a = 1"), code("# Q3\nb = 2"),
                                         code("c = 3"), md("# Question 2"), code("d = 4")])
    assert cell_questions(nb, content()) == [frozenset(), {1}, {1}, {3}, {3}, {2}, {2}]
    bare = nbformat.v4.new_notebook(cells=[code("a = 1"), md("some text")])
    assert cell_questions(bare, content()) == [frozenset()] * 2                          # no heading, no quiz file: no section
    assert cell_questions(bare, content(), "A0123456X_q5") == [frozenset({5})] * 2      # one notebook per question


def test_printed_numbers_in_every_form():
    text = ("Average CE loss = 48.7892\ntensor([15.0000, 22.2000, 31.4000], grad_fn=<AddBackward0>)\n"
            "array([ 1.5e+01, -2.2e+01])  [48.79]  dtype=torch.float64 Q1Q4I1")
    assert [p.text for p in numbers(text)] == ["48.7892", "15.0000", "22.2000", "31.4000", "1.5e+01", "-2.2e+01", "48.79"]
    assert [[p.value for p in v] for v in vectors(text, 3)][0] == [15.0, 22.2, 31.4]
    ref = 48.78916
    assert matches(read_number("48.7892"), ref) and matches(read_number("48.79"), ref)
    assert not matches(read_number("48.7891"), ref) and not matches(read_number("49"), ref)    # too few digits
    assert not matches(read_number("48.8"), ref) or round(ref, 1) == 48.8
    assert matches(read_number("15"), 15.0)                                                    # exact
    assert matches(read_number("48.78916123"), ref * (1 + 3e-7))                               # float32 round-off


# --------------------------------------------------------------------------
# layout (no kernel)


def test_nested_zip_with_litter_is_only_warnings(tmp_path, data):
    z = make_zip(tmp_path / "a0123456x_downloaded.zip", data, {"A0123456X.ipynb": [md("# Q1")]}, top="A0123456X/",
                 extra={"__MACOSX/A0123456X/._Q_1": b"x", "A0123456X/.DS_Store": b"x",
                        "A0123456X/.ipynb_checkpoints/A0123456X-checkpoint.ipynb": b"{}"})
    lay = extract_submission(z, tmp_path / "x")
    assert lay.problems == () and lay.student_id == "A0123456X"
    assert len(lay.notebooks) == 1 and lay.notebooks[0].name == "A0123456X.ipynb"
    text = " ".join(lay.warnings)
    assert "__MACOSX" in text and "top folder" in text and "A0123456X" in text


def test_layout_problems_each_in_one_sentence(tmp_path, data):
    z = make_zip(tmp_path / "A0123456X.zip", data, {"A0123456X.ipynb": [], "Q_1/scratch.ipynb": []},
                 skip=("xy.npz", "ab.npz", "labels.txt"))
    lay = extract_submission(z, tmp_path / "x")
    probs = "\n".join(lay.problems)
    assert "2 notebooks" in probs and "folder Q_5/ is missing" in probs and "Q_1/labels.txt is missing" in probs
    assert all(p.count("\n") == 0 for p in lay.problems)


def test_not_a_zip_is_exit_2_in_one_line(tmp_path, capsys):
    bad = tmp_path / "A0123456X.zip"
    bad.write_bytes(b"not a zip at all")
    assert main(["check", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "not a readable zip" in err and len(err.strip().splitlines()) == 1
    assert main(["check", str(tmp_path / "none.zip"), "--quiet"]) == 2


# --------------------------------------------------------------------------
# whole submissions, run in a fresh kernel


def test_honest_student_in_their_own_style(tmp_path, data):
    cells = [md("# CS5242 Quiz 1 -- my answers"), md("## Question 1"), code(Q1_NUMPY.format(digits=4)),
             md("**Question 2**"), code(Q2_NATURAL),
             md("Q3) The gradient\n\n$$\\frac{\\partial L}{\\partial x} = (\\sigma(s) - y)\\, W_1 (\\mathbb{1}[f>0] + W_2)$$"),
             md("### Q6"), code(Q6_ATTACK.format(steps=300, step=0.05)), code("# Q7\n" + Q7_FIXED)]
    rep = grade_submission(make_zip(tmp_path / "A0123456X.zip", data, {"A0123456X.ipynb": cells}), progress=False)
    assert status(rep) == {"Q1": "correct", "Q2": "correct", "Q3": "correct", "Q4": "missing", "Q5": "missing",
                           "Q6": "correct", "Q7": "correct"}, rep.table()   # Q3: W_1 as the matrix, W_2 the vector
    mean = q1_losses(data).mean()
    assert f"{mean:.4f}" in rep.questions["Q1"].found
    want = hand_tree(np.array([4.0, 5, 6]), np.array([4.0, 5, 6]), np.array([4.0, 5, 6]))
    assert "natural reading" in rep.questions["Q2"].found and "[7, 11, 17]" in rep.questions["Q2"].note
    assert f"{want[1]:.6g}" in rep.questions["Q2"].found
    assert rep.questions["Q3"].found.startswith("dL/dX = ") and "W1" in rep.questions["Q3"].found
    assert rep.errors == () and not rep.passed                                    # Q4 and Q5 are missing


def test_second_student_other_styles_and_readings(tmp_path, data):
    """Swapped operands in Q2 (same picture: correct, with the reading named), a total printed as a float64 tensor,
    a retain_graph "fix" for Q7 (a human decides), headings 'Question 1:', 'Q2)', 'Q.7' and a '# Q5' code comment."""
    cells = [md("Question 1: softmax + CE"), code("import numpy as np"), code(Q1_TORCH_TOTAL),
             md("Q2) compute tree"), code(Q2_SWAPPED),
             code("# Q5\nimport matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0]); plt.show()"),
             md("Q.7 the bug"), code(Q7_RETAIN)]
    rep = grade_submission(make_zip(tmp_path / "A7654321Y.zip", data, {"A7654321Y.ipynb": cells}), progress=False)
    assert status(rep) == {"Q1": "correct", "Q2": "correct", "Q3": "missing", "Q4": "missing", "Q5": "wrong",
                           "Q6": "missing", "Q7": "unverified"}, rep.table()   # Q5: a plot, no network
    assert rep.questions["Q1"].found.startswith("total")
    want = hand_tree(np.array([4.0, 5, 6]), np.array([4.0, 5, 6]), np.array([4.0, 5, 6]), swap=True)
    assert "sub" in rep.questions["Q2"].found and f"{want[0]:.6g}" in rep.questions["Q2"].found
    assert "retain_graph" in rep.questions["Q7"].note
    assert "1 plot" in rep.questions["Q5"].note


def test_gamed_notebook_gets_no_correct(tmp_path, data):
    """Headings, 'ANSWER Qn' prints, the right Q1 value typed in, Figure 1's output typed in, the final Q7 message
    printed, and I0 saved again unchanged as the 'adversarial' image."""
    mean = q1_losses(data).mean()
    want = hand_tree(np.array([4.0, 5, 6]), np.array([4.0, 5, 6]), np.array([4.0, 5, 6]))
    cells = [md(f"## Question {q}") if q % 2 else md(f"# Q{q}") for q in range(1, 8)]
    cells.insert(1, code(f"print('ANSWER Q1')\nprint('mean CE:', {mean:.6f})"))
    cells.insert(3, code(f"print('ANSWER Q2', {[round(float(v), 4) for v in want]})"))
    cells.append(code("import shutil\nshutil.copy('Q_6/I0.png', 'Q_6/I0_adv.png')\nshutil.copy('Q_6/I1.png', 'Q_6/I1_adv.png')\n"
                      "print('I0 adv classified as 1, I1 adv classified as 7')"))
    cells.append(code("print('----- first time ----- ')\nprint('----- well done ----- ')\n" +
                      "".join(f"print('ANSWER Q{q}')\n" for q in range(1, 8))))
    rep = grade_submission(make_zip(tmp_path / "A1111111Z.zip", data, {"A1111111Z.ipynb": cells}), progress=False)
    assert "correct" not in status(rep).values(), rep.table()
    assert "typed into the code" in (rep.questions["Q1"].note or "") and "typed into the code" in (rep.questions["Q2"].note or "")
    assert rep.questions["Q6"].status == "missing" and "already there" in rep.questions["Q6"].note    # copies of I0/I1
    assert rep.questions["Q7"].status == "wrong" and "no class" in rep.questions["Q7"].note    # printed: typed in
    assert not rep.passed


def test_dying_kernel_and_endless_cell_end_in_a_report(tmp_path, data, capsys):
    """Q1 answered, then an endless cell (interrupted at the cell timeout, the run goes on), Q7 answered, then
    os._exit: the report says what happened, and nothing after the death counts."""
    cells = [md("## Q1"), code(Q1_NUMPY.format(digits=6)), md("## Q2"), code("while True:\n    pass"),
             md("## Q7"), code(Q7_FIXED), md("## Q6"), code("import os\nos._exit(1)"), code("print('after death')")]
    z = make_zip(tmp_path / "A2222222B.zip", data, {"A2222222B.ipynb": cells})
    rep = grade_submission(z, timeout=8, progress=False)
    st = status(rep)
    assert (st["Q1"], st["Q2"], st["Q6"], st["Q7"]) == ("correct", "error", "error", "correct"), rep.table()
    assert rep.timed_out and rep.kernel_died and not rep.passed
    kinds = [e.exception.split(":")[0] for e in rep.errors]
    assert kinds == ["CellTimeoutError", "DeadKernelError"]
    assert "timeout of 8 s" in rep.errors[0].exception                                  # causes a TA can act on
    assert "the kernel died while running" in rep.stop_reason and "exit code 1" in rep.stop_reason, rep.stop_reason
    assert "exit code 1" in rep.questions["Q6"].note and "timeout, budget" not in rep.table()
    assert main(["check", str(z), "--timeout", "8", "--json", "--quiet", "--variants", "0"]) == 1   # the CLI: a report
    out = json.loads(capsys.readouterr().out)
    assert out["execution"]["kernel_died"] and out["questions"]["Q1"]["status"] == "correct"
    assert set(out) >= {"student_id", "passed", "layout", "execution", "questions"}


class StudentCellClock:
    """A clock for ``run_notebook`` that runs only while one of the student's cells runs: starting the kernel and
    quiz1's own probe cells (the watch cell imports torch) take no time of it. The budget then runs out where the
    test puts it, however busy the machine is (on the wall clock, at load 8 on two cores, starting the kernel and
    the watch cell alone took the 8 s, and the run stopped before the cell this test expects)."""

    def __init__(self):
        import time

        self.real, self.spent, self.since = time.monotonic, 0.0, None

    def monotonic(self) -> float:
        return self.spent + (self.real() - self.since if self.since is not None else 0.0)

    def sleep(self, seconds: float) -> None:
        import time

        time.sleep(seconds)

    def client(self, base):
        clock = self

        class Clocked(base):
            def execute_cell(self, cell, index, **kw):
                if cell.metadata.get("quiz1_probe"):
                    return super().execute_cell(cell, index, **kw)
                clock.since = clock.real()
                try:
                    return super().execute_cell(cell, index, **kw)
                finally:
                    clock.spent, clock.since = clock.monotonic(), None

        return Clocked


def test_a_budget_that_runs_out_is_named_as_such(tmp_path, data, monkeypatch):
    """8 s of the student's cells: 1 s asleep, then a cell that sleeps a minute is cut when the 7 s left run out
    (not by the 600 s timeout), and Q6's cell after it never runs."""
    from quiz1.grading.running import run as run_module

    clock = StudentCellClock()
    monkeypatch.setattr(run_module, "time", clock)
    monkeypatch.setattr(run_module, "NotebookClient", clock.client(run_module.NotebookClient))
    cells = [md("## Q1"), code("import time\ntime.sleep(1)"), md("## Q2"), code("time.sleep(60)"), md("## Q6"),
             code("print('attack done')")]
    rep = grade_submission(make_zip(tmp_path / "A2222223C.zip", data, {"A2222223C.ipynb": cells}), timeout=600,
                           budget=8, progress=False)
    assert "the run's budget of 8 s for the whole submission ran out" in rep.stop_reason, rep.table()
    assert "budget ran out during this cell" in rep.errors[-1].exception and "timeout of" not in rep.errors[-1].exception
    assert rep.errors[-1].cell == "In [2]", rep.table()
    assert rep.questions["Q6"].status == "error" and "budget of 8 s" in rep.questions["Q6"].note, rep.table()


def test_cuda_only_code_is_the_machines_error_and_knock_ons_are_marked(tmp_path, data):
    cells = [md("## Q1"), code("import torch\ndevice = torch.device('cuda')\nz = torch.zeros(3).to(device)"),
             code("print(z.sum())"), code("import some_package_nobody_has")]
    rep = grade_submission(make_zip(tmp_path / "A3333333C.zip", data, {"A3333333C.ipynb": cells}), progress=False)
    assert len(rep.errors) == 3, rep.table()
    cuda, knock, pkg = rep.errors
    assert cuda.cause.startswith("grading machine") and "CUDA" in cuda.cause and cuda.cell == "In [1]"
    assert cuda.line == "z = torch.zeros(3).to(device)"
    assert knock.exception.startswith("NameError") and knock.knock_on == "In [1]"
    assert pkg.cause == "grading machine: a package is not installed here"
    assert rep.questions["Q1"].status == "error"


def test_wrong_value_says_found_and_expected(tmp_path, data):
    cells = [md("# Question 1"), code(Q1_NUMPY.format(digits=4).replace("ce.mean()", "ce.mean() / 2"))]
    rep = grade_submission(make_zip(tmp_path / "A4444444D.zip", data, {"A4444444D.ipynb": cells}), progress=False)
    v = rep.questions["Q1"]
    mean = q1_losses(data).mean()
    assert v.status == "wrong" and f"{mean / 2:.4f}" in v.found and f"{mean:.6f}" in v.expected, rep.table()


def test_several_notebooks_are_graded_together(tmp_path, data):
    nbs = {"A5555555E.ipynb": [md("## Q1"), code(Q1_NUMPY.format(digits=5))],
           "q7.ipynb": [code(Q7_FIXED)]}
    z = make_zip(tmp_path / "A5555555E.zip", data, nbs)
    with zipfile.ZipFile(z) as zf:
        assert "q7.ipynb" in [n.split("/")[-1] for n in zf.namelist()]
    rep = grade_submission(z, progress=False)
    assert status(rep)["Q1"] == "correct" and status(rep)["Q7"] == "correct", rep.table()
    assert any("2 notebooks" in p for p in rep.problems)
    assert re.search(r"q7", " ".join(rep.notebooks))
