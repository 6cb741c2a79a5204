"""From verdicts to marks: the rubric, the gradebook that never overwrites a TA, and the Canvas file.

The expected marks are the quiz's own (Q1-Q5 3 each, Q6 and Q7 2 bonus each), added up by hand here; the Canvas
files are written by hand in Canvas's export format.
"""
import csv
import io

import pytest

from quiz1.cli import main
from quiz1.grading.marks import gradebook
from quiz1.grading.marks.export import class_marks, fill_canvas, marks_csv
from quiz1.grading.marks.rubric import load_rubric

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

    from quiz1.grading.cohort.batch import _result

    fut = Future()
    fut.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
    row = _result(fut, Path("A0000001A.zip"))["report"]
    assert row["graded"] is False and row["zip"] == "A0000001A.zip" and "BrokenProcessPool" in row["not_graded"]


# --------------------------------------------------------------------------
# what reaches Canvas (issue 34, items 8-11 and 13): Canvas files written by hand in its export's format

CANVAS_HEAD = "Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 - Softmax & Autograd (12345),Current Score\n"
POINTS = "    Points Possible,,,,,15.00,(read only)\n"


def full_report(zip_name, sid, **status):
    """``report`` with what report.html reads besides the verdicts."""
    return {**report(zip_name, sid, **status), "passed": False, "layout": {"problems": [], "warnings": []},
            "execution": {"seconds": 1.0, "timed_out": False, "kernel_died": False, "interrupted": False,
                          "stop_reason": "", "errors": []}}


def graded_class(out, *reports):
    """A gradebook holding ``reports`` (stem = the zip's name without .zip), and their <stem>.json."""
    import json

    for rep in reports:
        stem = rep["zip"].removesuffix(".zip")
        gradebook.record(out, stem, rep, load_rubric())
        (out / f"{stem}.json").write_text(json.dumps(rep))


def mark(out, stem, q, marks, by="alice", comment=""):
    it = next(i for i in gradebook.items(out) if i["stem"] == stem and i["question"] == q)
    gradebook.set_mark(out, stem, q, marks, by, it["version"], comment)


def asgi_get(app, path):
    """The body of GET ``path`` from an ASGI app, as a browser on this machine asks for it."""
    import asyncio

    body = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8000")], "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000)}
    asyncio.run(app(scope, receive, send))
    return b"".join(body).decode()


def test_a_flagged_item_waits_for_a_human_in_the_report_the_review_page_and_the_export(tmp_path, capsys):
    """Item 8: a TA's mark whose verdict changed under it (flagged) is not done: report.html lists it, the review page
    does not count it reviewed, and export refuses (or, told to, leaves that student's cell as it was)."""
    from quiz1.grading.cohort.batch import write_sheet
    from quiz1.grading.web.review import make_app

    all_correct = {q: "correct" for q in QS}
    graded_class(tmp_path, full_report("A0000001A.zip", "A0000001A", **all_correct),
                 full_report("A0000002B.zip", "A0000002B", **{**all_correct, "Q3": "unverified"}))
    mark(tmp_path, "A0000002B", "Q3", 3)
    write_sheet(tmp_path, [json_of(tmp_path, s) for s in ("A0000001A", "A0000002B")], ["A0000001A", "A0000002B"],
                load_rubric())
    assert "Nothing waits for a human." in (tmp_path / "report.html").read_text()   # everything marked: true
    gradebook.record(tmp_path, "A0000002B", report("A0000002B.zip", "A0000002B", **{**all_correct, "Q3": "wrong"}),
                     load_rubric())                                                  # a re-run: the verdict changed
    assert [(i["stem"], i["question"]) for i in gradebook.items(tmp_path) if i["flagged"]] == [("A0000002B", "Q3")]
    write_sheet(tmp_path, [json_of(tmp_path, s) for s in ("A0000001A", "A0000002B")], ["A0000001A", "A0000002B"],
                load_rubric())
    page = (tmp_path / "report.html").read_text()
    assert "Nothing waits for a human." not in page and "1 item(s) wait for a human" in page and "A0000002B Q3" in page
    assert "0 of 1 reviewed" in asgi_get(make_app(tmp_path, load_rubric()), "/")
    canvas = tmp_path / "canvas.csv"
    canvas.write_text(CANVAS_HEAD + POINTS + "\"Tan, Alice\",11,A0000001A,a0000001a,CS5242,,\n"
                      "\"Lee, Bob\",12,A0000002B,a0000002b,CS5242,,\n")
    dest = tmp_path / "import.csv"
    args = ["export", str(tmp_path), "--canvas", str(canvas), "--assignment", "12345", "--out", str(dest)]
    assert main(args) == 2 and not dest.exists()
    err = capsys.readouterr().err
    assert "A0000002B Q3" in err and "--allow-pending" in err and len(err.strip().splitlines()) == 1
    assert main(args + ["--allow-pending"]) == 0
    rows = {r["SIS User ID"]: r for r in csv.DictReader(io.StringIO(dest.read_text()))}
    assert rows["A0000001A"]["Quiz 1 - Softmax & Autograd (12345)"] == "19"           # 3 x 5 + 2 x 2, by hand
    assert rows["A0000002B"]["Quiz 1 - Softmax & Autograd (12345)"] == ""
    said = capsys.readouterr().out
    assert "1 item(s) wait for a human; exported with those students' cells left as they were: A0000002B Q3" in said
    mark(tmp_path, "A0000002B", "Q3", 1, "bob")                                      # looked at again: done
    assert main(args) == 0
    rows = {r["SIS User ID"]: r for r in csv.DictReader(io.StringIO(dest.read_text()))}
    assert rows["A0000002B"]["Quiz 1 - Softmax & Autograd (12345)"] == "17"          # 3 x 4 + 1 + 2 x 2


def json_of(out, stem):
    import json

    return json.loads((out / f"{stem}.json").read_text())


def test_scores_canvas_already_holds_are_kept_unless_overwrite_and_listed(tmp_path, capsys):
    """Item 9: a student without a submission who has 12.00 keeps it (also with --missing-zero); a score that differs
    from quiz1's is kept and listed, and replaced only with --overwrite, listed again; an equal one is no conflict."""
    graded_class(tmp_path, full_report("A0000001A.zip", "A0000001A", Q1="correct"),          # 3
                 full_report("A0000002B.zip", "A0000002B", Q1="correct", Q2="correct"))      # 6
    canvas = tmp_path / "canvas.csv"
    canvas.write_text(CANVAS_HEAD + POINTS + "\"Tan, Alice\",11,A0000001A,a0000001a,CS5242,7.00,\n"
                      "\"Lee, Bob\",12,A0000002B,a0000002b,CS5242,6.00,\n"
                      "\"Ng, Carol\",13,A0000003C,a0000003c,CS5242,12.00,\n"
                      "\"Ong, Dan\",14,A0000004D,a0000004d,CS5242,,\n")
    dest = tmp_path / "import.csv"
    args = ["export", str(tmp_path), "--canvas", str(canvas), "--assignment", "Quiz 1 - Softmax & Autograd",
            "--out", str(dest), "--missing-zero"]
    assert main(args) == 0
    col = "Quiz 1 - Softmax & Autograd (12345)"
    got = {r["SIS User ID"]: r[col] for r in csv.DictReader(io.StringIO(dest.read_text())) if r["SIS User ID"]}
    assert got == {"A0000001A": "7.00", "A0000002B": "6.00", "A0000003C": "12.00", "A0000004D": "0"}
    said = capsys.readouterr().out
    assert "kept Canvas's score: Tan, Alice (A0000001A): 7.00 (quiz1's would be 3" in said
    assert "kept Canvas's score: Ng, Carol (A0000003C): 12.00 (quiz1's would be 0" in said
    assert "Lee, Bob" not in said                                                    # 6.00 is quiz1's 6: no conflict
    assert main(args + ["--overwrite"]) == 0
    got = {r["SIS User ID"]: r[col] for r in csv.DictReader(io.StringIO(dest.read_text())) if r["SIS User ID"]}
    assert got == {"A0000001A": "3", "A0000002B": "6.00", "A0000003C": "0", "A0000004D": "0"}
    said = capsys.readouterr().out
    assert "overwritten (--overwrite): Tan, Alice (A0000001A): Canvas had 7.00, now 3" in said
    assert "overwritten (--overwrite): Ng, Carol (A0000003C): Canvas had 12.00, now 0" in said


@pytest.mark.parametrize("assignment, ok", [("Quiz 1 - Softmax & Autograd", True), ("12345", True),
                                            ("Quiz 1 - Softmax & Autograd (12345)", True), ("Quiz 1", False),
                                            ("Quiz 1 - Softmax and Autograd", False), ("Current Score", False)])
def test_the_column_is_the_assignments_by_name_or_id_exactly_never_a_new_one(tmp_path, capsys, assignment, ok):
    """Item 10: the message names the column filled; no match names the assignments there are and writes nothing."""
    graded_class(tmp_path, full_report("A0000001A.zip", "A0000001A", Q1="correct"))
    canvas = tmp_path / "canvas.csv"
    canvas.write_text(CANVAS_HEAD.replace("Section,", "Section,Assignment 1 (1001),") +
                      POINTS.replace(",,15.00", ",,10.00,15.00") + "\"Tan, Alice\",11,A0000001A,a0000001a,CS5242,9,,\n")
    dest = tmp_path / "import.csv"
    code = main(["export", str(tmp_path), "--canvas", str(canvas), "--assignment", assignment, "--out", str(dest)])
    out, err = capsys.readouterr()
    if ok:
        assert code == 0 and "column 'Quiz 1 - Softmax & Autograd (12345)' filled for 1 student(s)" in out
        head = dest.read_text().splitlines()[0]
        assert head == CANVAS_HEAD.replace("Section,", "Section,Assignment 1 (1001),").strip()   # no new column
    else:
        assert code == 2 and not dest.exists() and len(err.strip().splitlines()) == 1
        assert "'Assignment 1 (1001)', 'Quiz 1 - Softmax & Autograd (12345)'" in err and "never adds a column" in err


def test_two_submissions_for_one_student_are_the_tas_choice(tmp_path, capsys):
    """Item 11: a TA's mark on one chooses it; --prefer latest takes the later zip; with neither, a refusal naming
    both; --feedback writes one page a student and says so."""
    import json

    graded_class(tmp_path, full_report("A0940005X.zip", "A0940005X", Q1="correct", Q2="correct"),       # 6
                 full_report("A0940005X_resubmit.zip", "A0940005X", Q1="correct"),                     # 3
                 full_report("A0940006Y.zip", "A0940006Y", Q1="correct"))
    for stem, when in (("A0940005X", "2026-11-30T10:00:00+00:00"), ("A0940005X_resubmit", "2026-11-30T11:00:00+00:00"),
                       ("A0940006Y", "2026-11-30T09:00:00+00:00")):
        rep = json_of(tmp_path, stem)
        (tmp_path / f"{stem}.json").write_text(json.dumps({**rep, "grader": {"zip_time": when}}))
    canvas = tmp_path / "canvas.csv"
    canvas.write_text(CANVAS_HEAD + POINTS + "\"Tan, Alice\",11,A0940005X,a0940005x,CS5242,,\n"
                      "\"Lee, Bob\",12,A0940006Y,a0940006y,CS5242,,\n")
    dest = tmp_path / "import.csv"
    args = ["export", str(tmp_path), "--canvas", str(canvas), "--assignment", "12345", "--out", str(dest)]
    col = "Quiz 1 - Softmax & Autograd (12345)"

    def alice():
        return next(r[col] for r in csv.DictReader(io.StringIO(dest.read_text())) if r["SIS User ID"] == "A0940005X")

    assert main(args) == 2 and not dest.exists()
    err = capsys.readouterr().err
    assert "A0940005X.zip, A0940005X_resubmit.zip" in err and "--prefer latest" in err
    assert main(args + ["--prefer", "latest"]) == 0 and alice() == "3"                # the resubmission, 11:00
    out = capsys.readouterr().out
    assert "exported A0940005X_resubmit.zip, the latest" in out and "matching no Canvas student" not in out
    mark(tmp_path, "A0940005X", "Q3", 2, "alice")                                    # the TA marks the first one
    assert main(args) == 0 and alice() == "8"                                        # 6 + 2: the one marked
    mark(tmp_path, "A0940005X_resubmit", "Q3", 1, "bob")                             # and another TA the second
    assert main(args) == 2 and "2 of them carry a TA's mark" in capsys.readouterr().err
    assert main(args + ["--prefer", "A0940005X_resubmit.zip"]) == 0 and alice() == "4"   # 3 + 1: the one named
    assert main(["export", str(tmp_path), "--feedback", "--prefer", "A0940005X"]) == 0
    assert "wrote 2 feedback page(s)" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "feedback").iterdir()) == ["A0940005X.html", "A0940006Y.html"]
    assert "<b>8</b> of 15" in (tmp_path / "feedback" / "A0940005X.html").read_text()


@pytest.mark.parametrize("encoding, bom, said", [("utf-8", False, "as UTF-8;"),
                                                 ("utf-8-sig", True, "as UTF-8 with a byte-order mark"),
                                                 ("cp1252", True, "as Windows-1252")])
def test_canvas_files_in_utf8_with_or_without_bom_or_from_excel_are_read_and_said(tmp_path, capsys, encoding, bom,
                                                                                     said):
    """Item 13: the names survive (written back in UTF-8, with a byte-order mark where the file had one or came from
    Excel); the message says how the file was read."""
    graded_class(tmp_path, full_report("A0000001A.zip", "A0000001A", Q1="correct"))
    canvas = tmp_path / "canvas.csv"
    text = CANVAS_HEAD + POINTS + "\"Müller, Zoë\",11,A0000001A,a0000001a,CS5242,,\n"
    canvas.write_bytes(text.encode(encoding))
    dest = tmp_path / "import.csv"
    assert main(["export", str(tmp_path), "--canvas", str(canvas), "--assignment", "12345", "--out", str(dest)]) == 0
    assert said in capsys.readouterr().out
    raw = dest.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == bom
    assert raw.decode("utf-8-sig") == text.replace(",,\n", ",3,\n").replace("CS5242,,", "CS5242,3,")


def test_a_canvas_file_in_no_encoding_it_reads_is_one_sentence_saying_what_to_do(tmp_path, capsys):
    graded_class(tmp_path, full_report("A0000001A.zip", "A0000001A", Q1="correct"))
    canvas = tmp_path / "canvas.csv"
    canvas.write_bytes(CANVAS_HEAD.encode() + b"\x81\x8d\n")      # bytes UTF-8 and Windows-1252 both leave undefined
    assert main(["export", str(tmp_path), "--canvas", str(canvas), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "canvas.csv" in err and "CSV UTF-8" in err and len(err.strip().splitlines()) == 1
