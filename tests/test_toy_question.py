"""A question needs only its module and one line in ``questions.QUESTIONS``: a toy eighth question
(``tests/toy_question.py``) registered here grades a hand-made notebook end to end, in the report, its table and
the class's CSV, and the section of a notebook without headings is found by what its cells do."""
from __future__ import annotations

import numpy as np
import pytest

import toy_question
from quiz1.grading import questions
from quiz1.grading.grade import grade_submission
from quiz1.grading.running.run import run_notebook
from students import Q1_NUMPY, code, make_zip, md


@pytest.fixture
def eighth(monkeypatch):
    monkeypatch.setattr(questions, "QUESTIONS", questions.QUESTIONS + (toy_question,))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from students import seeded_data

    return seeded_data(tmp_path_factory.mktemp("data"))


def _first_row(data) -> float:
    return float(np.loadtxt(next(data.rglob("data.txt")), ndmin=2)[0].sum())     # the answer, computed here


def test_a_toy_eighth_question_is_graded_end_to_end(tmp_path, data, eighth):
    want = _first_row(data)
    cells = [md("## Question 1"), code(Q1_NUMPY.format(digits=4)),
             md("## Question 8"), code("print('sum of the first row:', np.loadtxt('Q_1/data.txt')[0].sum())")]
    typed = [md("## Question 8"), code(f"print({want!r})")]
    rep = grade_submission(make_zip(tmp_path / "A8000001A.zip", data, {"A8000001A.ipynb": cells}), progress=False,
                           executor=run_notebook, variants=0)
    assert list(rep.questions)[-1] == "Q8" and rep.questions["Q8"].status == "correct", rep.questions["Q8"]
    assert rep.questions["Q1"].status == "correct", rep.questions["Q1"]     # the seven are still graded
    assert "Q8           correct" in rep.table()
    rep = grade_submission(make_zip(tmp_path / "A8000002B.zip", data, {"A8000002B.ipynb": typed}), progress=False,
                           executor=run_notebook, variants=0)
    assert rep.questions["Q8"].status == "wrong" and "typed" not in (rep.questions["Q8"].note or ""), rep.questions["Q8"]


def test_without_headings_the_toy_section_is_found_by_what_its_cells_do(eighth):
    import nbformat

    from quiz1.grading.reading.sections import cell_questions

    nb = nbformat.v4.new_notebook(cells=[code("z = np.loadtxt('Q_1/data.txt')"), code("# the first row\nz[0].sum()")])
    assert cell_questions(nb, questions.content()) == [{1}, {8}]


def test_without_it_a_question_8_heading_is_no_section():
    import nbformat

    from quiz1.grading.reading.sections import cell_questions

    nb = nbformat.v4.new_notebook(cells=[md("## Question 8"), code("1 + 1")])
    assert cell_questions(nb, questions.content()) == [frozenset(), frozenset()]
