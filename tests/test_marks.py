"""From verdicts to marks: the rubric, the gradebook that never overwrites a TA, and the Canvas file.

The expected marks are the quiz's own (Q1-Q5 3 each, Q6 and Q7 2 bonus each), added up by hand here; the Canvas
files are written by hand in Canvas's export format.
"""
import csv
import io

import pytest

from quiz1.cli import main
from quiz1.grading import gradebook
from quiz1.grading.export import class_marks, fill_canvas, marks_csv
from quiz1.grading.rubric import load_rubric

QS = ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7")
THREE = '"three"'   # a mark written as a word


def report(zip_name, sid, **status):
    """A graded report as `quiz1 grade` writes it, with the given statuses (the rest missing)."""
    return {"zip": zip_name, "student_id": sid, "graded": True,
            "questions": {q: {"status": status.get(q, "missing"), "found": None, "expected": None, "note": None}
                          for q in QS}}


def test_quiz1s_rubric_has_the_quizs_marks():
    r = load_rubric()
    assert [r.questions[q].marks for q in QS] == [3, 3, 3, 3, 3, 2, 2]
    assert (r.base, r.bonus) == (15, 4)
    assert r.proposed("Q1", "correct") == 3 and r.proposed("Q6", "correct") == 2
    assert r.proposed("Q2", "wrong") == 0 and r.proposed("Q3", "unverified") is None


@pytest.mark.parametrize("text, key", [
    ("[verdicts]\ncorrect='full'\nwrong=0\nmissing=0\nerror=0\nunverified='human'\n", "questions"),
    ("[verdicts]\ncorrect='full'\n" + "".join(f"[questions.{q}]\nmarks=3\n" for q in QS), "verdicts"),
    ("[verdicts]\ncorrect='full'\nwrong=0\nmissing=0\nerror=0\nunverified='maybe'\n"
     + "".join(f"[questions.{q}]\nmarks=3\n" for q in QS), "verdicts.unverified"),
    ("[verdicts]\ncorrect='full'\nwrong=0\nmissing=0\nerror=0\nunverified='human'\n"
     + "".join(f"[questions.{q}]\nmarks={THREE if q == 'Q3' else 3}\n" for q in QS), "questions.Q3.marks"),
    ("not = [toml", "not valid TOML"),
])
def test_a_bad_rubric_is_one_sentence_naming_the_key(tmp_path, text, key):
    p = tmp_path / "rubric.toml"
    p.write_text(text)
    with pytest.raises(ValueError) as e:
        load_rubric(p)
    assert str(p) in str(e.value) and key in str(e.value) and "\n" not in str(e.value)


def test_a_rerun_never_overwrites_a_human_and_flags_a_changed_verdict(tmp_path):
    r = load_rubric()
    gradebook.record(tmp_path, "A1", report("A1.zip", "A0000001A", Q1="correct", Q3="unverified"), r)
    items = {it["question"]: it for it in gradebook.items(tmp_path)}
    assert (items["Q1"]["marks"], items["Q1"]["marked_by"]) == (3, "machine")
    assert items["Q3"]["marks"] is None                                      # unverified: waits for a human
    v = gradebook.set_mark(tmp_path, "A1", "Q3", 2, "alice", items["Q3"]["version"], "chain rule right, sign slip")
    gradebook.set_mark(tmp_path, "A1", "Q1", 1.5, "bob", items["Q1"]["version"], "used F.softmax")
    gradebook.record(tmp_path, "A1", report("A1.zip", "A0000001A", Q1="correct", Q3="wrong"), r)  # a re-run
    items = {it["question"]: it for it in gradebook.items(tmp_path)}
    assert (items["Q3"]["marks"], items["Q3"]["marked_by"], items["Q3"]["flagged"]) == (2, "alice", 1)
    assert (items["Q1"]["marks"], items["Q1"]["marked_by"], items["Q1"]["flagged"]) == (1.5, "bob", 0)
    assert items["Q3"]["comment"] == "chain rule right, sign slip" and items["Q3"]["verdict"] == "wrong"
    with pytest.raises(gradebook.StaleMark, match="changed since you opened it"):
        gradebook.set_mark(tmp_path, "A1", "Q3", 3, "carol", v, "")          # alice's version, replaced since
    with pytest.raises(ValueError, match="expected 0 to 3"):
        gradebook.set_mark(tmp_path, "A1", "Q3", 4, "carol", items["Q3"]["version"])
    assert gradebook.set_mark(tmp_path, "A1", "Q3", 3, "carol", items["Q3"]["version"]) == items["Q3"]["version"] + 1


def test_marks_csv_and_the_canvas_file_against_hand_written_ones(tmp_path, capsys):
    r = load_rubric()
    gradebook.record(tmp_path, "A0000001A", report("A0000001A.zip", "A0000001A", Q1="correct", Q2="correct",
                                                   Q3="unverified", Q6="correct", Q7="wrong"), r)
    gradebook.record(tmp_path, "A0000002B", report("A0000002B.zip", "A0000002B", Q1="correct", Q3="unverified"), r)
    gradebook.record(tmp_path, "A0000009Z", report("A0000009Z.zip", "A0000009Z", Q1="wrong"), r)   # not enrolled
    its = {(it["stem"], it["question"]): it for it in gradebook.items(tmp_path)}
    gradebook.set_mark(tmp_path, "A0000001A", "Q3", 2.5, "alice", its["A0000001A", "Q3"]["version"],
                       "<b>chain rule</b> right")
    marks = {m.stem: m for m in class_marks(tmp_path, r)}
    assert (marks["A0000001A"].total, marks["A0000001A"].bonus) == (3 + 3 + 2.5, 2)          # Q1 Q2 Q3, Q6
    assert marks["A0000002B"].pending == ("Q3",)
    rows = list(csv.DictReader(io.StringIO(marks_csv(list(marks.values()), r))))
    a = next(x for x in rows if x["student_id"] == "A0000001A")
    assert (a["Q3"], a["Q3 marked by"], a["Q1 marked by"], a["total (of 15)"], a["bonus (of 4)"]) == (
        "2.5", "alice", "machine", "8.5", "2")
    canvas = tmp_path / "canvas_export.csv"   # Canvas's export: a Points Possible row, SIS ids, one other assignment
    canvas.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,Assignment 1 (1001),Quiz 1 (1002)\n"
        "    Points Possible,,,,,10.00,15.00\n"
        '"Tan, Alice",11,A0000001A,a0000001a,CS5242,9.00,\n'
        '"Lee, Bob",12,A0000002B,a0000002b,CS5242,7.50,\n'
        '"Ng, Carol",13,A0000003C,a0000003c,CS5242,8.00,\n')
    dest = tmp_path / "canvas_import.csv"
    assert main(["export", str(tmp_path), "--canvas", str(canvas), "--out", str(dest), "--missing-zero"]) == 2
    assert "A0000002B Q3" in capsys.readouterr().err and not dest.exists()    # Q3 waits: refused, nothing written
    assert main(["export", str(tmp_path), "--canvas", str(canvas), "--out", str(dest), "--missing-zero",
                 "--allow-pending"]) == 0                                       # Quiz 1
    assert dest.read_text() == (                                                # written by hand: what Canvas takes
        "Student,ID,SIS User ID,SIS Login ID,Section,Assignment 1 (1001),Quiz 1 (1002)\n"
        "    Points Possible,,,,,10.00,15.00\n"
        "\"Tan, Alice\",11,A0000001A,a0000001a,CS5242,9.00,10.5\n"
        "\"Lee, Bob\",12,A0000002B,a0000002b,CS5242,7.50,\n"
        "\"Ng, Carol\",13,A0000003C,a0000003c,CS5242,8.00,0\n")
    out = capsys.readouterr().out
    assert "A0000009Z.zip" in out and "A0000002B" in out and "Q3" in out       # unmatched and pending, listed
    assert main(["export", str(tmp_path), "--feedback"]) == 0
    page = (tmp_path / "feedback" / "A0000001A.html").read_text()
    assert "<b>10.5</b>" not in page and "<b>8.5</b> of 15" in page and "bonus <b>2</b> of 4" in page
    assert "2.5 / 3" in page and "alice" not in page                            # the mark, not the TA's name
    assert "&lt;b&gt;chain rule&lt;/b&gt; right" in page                         # a comment is text, escaped
    res = fill_canvas(canvas, tmp_path / "again.csv", list(marks.values()), r, "1002", allow_pending=True)
    assert res.column == "Quiz 1 (1002)" and res.no_submission == 1 and res.unmatched == ("A0000009Z.zip",)


def test_export_of_a_folder_without_a_gradebook_or_a_bad_canvas_file_is_one_sentence(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nothing"), "--csv", str(tmp_path / "m.csv")]) == 2
    assert "no gradebook" in capsys.readouterr().err
    gradebook.record(tmp_path, "A1", report("A1.zip", "A0000001A"), load_rubric())
    bad = tmp_path / "bad.csv"
    bad.write_text("name,score\nx,1\n")
    assert main(["export", str(tmp_path), "--canvas", str(bad), "--assignment", "Quiz 1",
                 "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "SIS User ID" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()


def test_cli_refusals_are_one_sentence_and_write_nothing(tmp_path, capsys):
    """A bad rubric is refused before any zip is graded; review and mark on a folder with no gradebook."""
    bad = tmp_path / "rubric.toml"
    bad.write_text("[verdicts]\ncorrect = 'full'\n")
    out = tmp_path / "out"
    (tmp_path / "A0000001A.zip").write_bytes(b"not a zip")
    assert main(["grade", str(tmp_path), "--out", str(out), "--rubric", str(bad), "--no-sandbox", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "rubric.toml" in err[-1] and "questions" in err[-1] and not out.exists()
    for args in (["review", str(tmp_path)], ["mark", str(tmp_path), "A0000001A", "Q3", "2", "--by", "alice"]):
        assert main(args) == 2
        assert "no gradebook here" in capsys.readouterr().err


def test_a_grading_process_that_dies_is_that_zips_row():
    """`grade_class` reads each task through `_result`: a pool broken by a dead worker gives a `not graded` row."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool
    from pathlib import Path

    from quiz1.grading.batch import _result

    fut = Future()
    fut.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
    row = _result(fut, Path("A0000001A.zip"))["report"]
    assert row["graded"] is False and row["zip"] == "A0000001A.zip" and "BrokenProcessPool" in row["not_graded"]
