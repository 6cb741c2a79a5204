"""Rubric items (issue 36, items 2 and 4): a mark is the items applied plus an adjustment, clipped to [0, marks];
editing an item re-computes every mark that uses it, in the gradebook and in what reaches Canvas, and the audit log
says who changed what; a gradebook of schema 1 is migrated with its marks kept; feedback pages speak the student's
words; the review API's new writes hold against other origins as /api/mark does.

Every expected mark is added up by hand here from quiz1's rubric.toml (Q1-Q5 3 marks, Q6 Q7 2 bonus; Q3's items:
full 3, stops-at-ds 1, chain-rule-only 1, relu-path -1, sign -1).
"""
import csv
import io
import json
import re
import shutil
import sqlite3
from importlib.resources import files

import pytest

import review_pages
from quiz1.cli import main
from quiz1.grading.marks import gradebook
from quiz1.grading.marks.export import class_marks, marks_csv
from quiz1.grading.marks.rubric import load_rubric
from review_pages import chromium, item, make_class, post_to, review_server

QS = ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7")
GRADER_WORDS = ("kernel", "unverified", "a human should", "probe", "verdict")
CANVAS = ("Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (12345)\n    Points Possible,,,,,15.00\n"
          "\"Tan, Alice\",11,A0000001A,a0000001a,CS5242,\n\"Lee, Bob\",12,A0000002B,a0000002b,CS5242,\n"
          "\"Ng, Carol\",13,A0000003C,a0000003c,CS5242,\n")


def report(sid, notes=None, **status):
    """A graded report as `quiz1 grade` writes it: the statuses given (the rest missing), the grader's notes in the
    words a TA reads."""
    return {"zip": f"{sid}.zip", "student_id": sid, "graded": True,
            "questions": {q: {"status": status.get(q, "missing"), "found": (notes or {}).get(q, (None, None))[0],
                              "expected": (notes or {}).get(q, (None, None))[1],
                              "note": "the kernel died; a human should read it; probe 3 failed"} for q in QS}}


def it_of(out, stem, q):
    return gradebook.item(out, stem, q)


def apply(out, stem, q, ids, adjustment=0, comment=None, by="alice"):
    return gradebook.apply_items(out, stem, q, ids, adjustment, comment, by, it_of(out, stem, q)["version"])


def test_quiz1s_rubric_has_items_for_every_question_and_the_verdicts_apply_them():
    r = load_rubric()
    for q in QS:
        ids = [i.id for i in r.questions[q].items]
        assert ids[0] == "full" and r.questions[q].item("full").points == r.questions[q].marks
        assert {"not-matching", "not-found", "did-not-run"} <= set(ids)
        assert len(ids) >= 5                                                     # the question's own, besides those
    q3 = {i.id: i.points for i in r.questions["Q3"].items}
    assert (q3["full"], q3["stops-at-ds"], q3["relu-path"], q3["sign"]) == (3, 1, -1, -1)    # issue 36's defaults
    assert r.verdict_item("Q3", "correct").id == "full" and r.verdict_item("Q3", "unverified") is None
    assert r.verdict_item("Q2", "wrong").id == "not-matching" and r.proposed("Q2", "wrong") == 0
    assert "Your answer" in r.verdict_item("Q2", "wrong").text


@pytest.mark.parametrize("items, key, said", [
    ("[[questions.Q3.items]]\nid='full'\ntext='ok'\npoints=5\n", "questions.Q3.items[0].points", "from -3 to 3"),
    ("[[questions.Q3.items]]\nid='Sign Error'\ntext='x'\npoints=-1\n", "questions.Q3.items[0].id", "lowercase"),
    ("[[questions.Q3.items]]\nid='a'\ntext='x'\npoints=1\n[[questions.Q3.items]]\nid='a'\ntext='y'\npoints=1\n",
     "questions.Q3.items[1].id", "'a' again"),
    ("[[questions.Q3.items]]\nid='a'\ntext='x'\npoint=1\n", "questions.Q3.items[0]", "expected the keys id, text"),
    ("[[questions.Q3.items]]\nid='a'\ntext=''\npoints=1\n", "questions.Q3.items[0].text", "1 to 300 characters"),
    ("[[questions.Q3.items]]\nid='a'\ntext='x'\npoints=true\n", "questions.Q3.items[0].points", "found True"),
])
def test_a_bad_item_is_one_sentence_naming_the_file_the_key_expected_and_found(tmp_path, items, key, said):
    p = tmp_path / "rubric.toml"
    p.write_text("[verdicts]\ncorrect='full'\nwrong=0\nmissing=0\nerror=0\nunverified='human'\n"
                 + "".join(f"[questions.{q}]\nmarks=3\n" for q in QS) + items)
    with pytest.raises(ValueError) as e:
        load_rubric(p)
    msg = str(e.value)
    assert str(p) in msg and key in msg and said in msg and "expected" in msg and "\n" not in msg


def test_a_verdict_must_name_an_item_every_question_has_and_the_older_form_still_loads(tmp_path):
    p = tmp_path / "rubric.toml"
    qs = "".join(f"[questions.{q}]\nmarks=3\n" for q in QS)
    p.write_text("[verdicts]\ncorrect='full'\nwrong='sign'\nmissing=0\nerror=0\nunverified='human'\n" + qs
                 + "[[questions.Q3.items]]\nid='sign'\ntext='A sign error.'\npoints=-1\n")
    with pytest.raises(ValueError, match=r"verdicts\.wrong: expected .* but found 'sign' \(Q1, Q2, Q4, Q5, Q6, Q7 have"):
        load_rubric(p)
    p.write_text("[verdicts]\ncorrect='full'\nwrong=0.5\nmissing=0\nerror=0\nunverified='human'\n" + qs)
    r = load_rubric(p)                                                       # numbers: quiz1's older form
    assert (r.proposed("Q1", "correct"), r.proposed("Q1", "wrong"), r.proposed("Q1", "unverified")) == (3, 0.5, None)
    assert r.verdict_item("Q1", "wrong").id == "wrong"


def test_the_rule_is_the_items_points_plus_the_adjustment_clipped_to_the_questions_marks(tmp_path):
    rubric = load_rubric()
    for sid in ("A1", "A2", "A3", "A4"):
        gradebook.record(tmp_path, sid, report(sid, Q1="correct", Q3="unverified"), rubric)
    assert (it_of(tmp_path, "A1", "Q1")["marks"], it_of(tmp_path, "A1", "Q1")["applied"]) == (3, ["full"])  # correct
    assert (it_of(tmp_path, "A1", "Q2")["marks"], it_of(tmp_path, "A1", "Q2")["applied"]) == (0, ["not-found"])
    assert (it_of(tmp_path, "A1", "Q3")["marks"], it_of(tmp_path, "A1", "Q3")["applied"]) == (None, [])    # a human's
    apply(tmp_path, "A1", "Q3", ["full", "sign"], 0.5, "sign slip")           # 3 - 1 + 0.5
    apply(tmp_path, "A2", "Q3", ["stops-at-ds", "sign", "relu-path"])         # 1 - 1 - 1 = -1: clipped to 0
    apply(tmp_path, "A3", "Q3", ["full"], 1)                                   # 3 + 1 = 4: clipped to 3
    apply(tmp_path, "A4", "Q3", ["sign", "stops-at-ds"], -0.25)               # 1 - 1 - 0.25: 0; in the rubric's order
    got = {sid: (it_of(tmp_path, sid, "Q3")["marks"], it_of(tmp_path, sid, "Q3")["applied"]) for sid in ("A1", "A2", "A3", "A4")}
    assert got == {"A1": (2.5, ["full", "sign"]), "A2": (0, ["stops-at-ds", "relu-path", "sign"]), "A3": (3, ["full"]),
                   "A4": (0, ["stops-at-ds", "sign"])}
    a1 = it_of(tmp_path, "A1", "Q3")
    assert (a1["marked_by"], a1["comment"], a1["adjustment"]) == ("alice", "sign slip", 0.5)
    apply(tmp_path, "A1", "Q3", ["full", "sign"], 0.5, None, by="bob")       # no comment: the comment is kept
    assert it_of(tmp_path, "A1", "Q3")["comment"] == "sign slip"
    v = it_of(tmp_path, "A1", "Q3")["version"]
    gradebook.set_mark(tmp_path, "A1", "Q3", 1.5, "carol", v)                 # a number: an adjustment alone
    a1 = it_of(tmp_path, "A1", "Q3")
    assert (a1["marks"], a1["applied"], a1["adjustment"], a1["version"]) == (1.5, [], 1.5, v + 1)
    with pytest.raises(gradebook.StaleMark, match="changed since you opened it"):
        gradebook.apply_items(tmp_path, "A1", "Q3", ["full"], 0, None, "dave", v)
    for ids, adj, said in ((["nope"], 0, "expected ids of Q3's items (full, stops-at-ds"),
                           (["full", "full"], 0, "each item once"), ("full", 0, "a list of item ids"),
                           (["full"], 4, "adjustment: expected -3 to 3"), (["full"], True, "adjustment: expected a number"),
                           ([7], 0, "a list of item ids")):
        with pytest.raises(ValueError, match=re.escape(said)):
            gradebook.apply_items(tmp_path, "A1", "Q3", ids, adj, None, "dave", v + 1)
    with pytest.raises(ValueError, match="marked by"):
        gradebook.apply_items(tmp_path, "A1", "Q3", ["full"], 0, None, "rubric", v + 1)
    assert it_of(tmp_path, "A1", "Q3")["marks"] == 1.5                         # nothing refused was saved


def graded(out, sids=("A0000001A", "A0000002B", "A0000003C")):
    for sid in sids:
        gradebook.record(out, sid, report(sid, Q1="correct", Q3="unverified"), load_rubric())
        (out / f"{sid}.json").write_text(json.dumps(report(sid, Q1="correct", Q3="unverified")))
    return out


def canvas_totals(out, tmp_path) -> dict:
    return review_pages.canvas_totals(out, tmp_path, CANVAS)


def test_editing_an_items_points_re_computes_every_mark_that_uses_it_and_the_audit_says_so(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    out = graded(tmp_path / "out")
    apply(out, "A0000001A", "Q3", ["full", "sign"])                            # 3 - 1 = 2
    apply(out, "A0000002B", "Q3", ["stops-at-ds", "sign"], 0.5)               # 1 - 1 + 0.5 = 0.5
    gradebook.set_mark(out, "A0000003C", "Q3", 2, "bob", it_of(out, "A0000003C", "Q3")["version"])   # no item: 2
    assert canvas_totals(out, tmp_path) == {"A0000001A": "5", "A0000002B": "3.5", "A0000003C": "5"}   # Q1's 3 + Q3
    seen = {sid: it_of(out, sid, "Q3")["version"] for sid in ("A0000001A", "A0000002B", "A0000003C")}
    done = gradebook.edit_item(out, "Q3", "sign", points=-0.5, by="carol")
    assert done["points"] == -0.5 and sorted(done["recomputed"]) == [("A0000001A", 2, 2.5), ("A0000002B", 0.5, 1)]
    q3 = {sid: it_of(out, sid, "Q3") for sid in seen}
    assert {sid: it["marks"] for sid, it in q3.items()} == {"A0000001A": 2.5, "A0000002B": 1, "A0000003C": 2}
    assert q3["A0000001A"]["marked_by"] == "alice"                             # still alice's choice of items
    assert {sid: it["version"] - seen[sid] for sid, it in q3.items()} == {"A0000001A": 1, "A0000002B": 1, "A0000003C": 0}
    assert canvas_totals(out, tmp_path) == {"A0000001A": "5.5", "A0000002B": "4", "A0000003C": "5"}
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(marks_csv(class_marks(out, load_rubric()),
                                                                            load_rubric())))}
    assert (rows["A0000001A"]["Q3"], rows["A0000001A"]["Q3 items"], rows["A0000001A"]["total (of 15)"]) == (
        "2.5", "full sign", "5.5")
    gradebook.edit_item(out, "Q1", "full", points=2.5, text="Correct softmax and loss.", by="carol")   # the machine's
    assert {sid: it_of(out, sid, "Q1")["marks"] for sid in seen} == {sid: 2.5 for sid in seen}
    assert it_of(out, "A0000001A", "Q1")["marked_by"] == "machine"
    assert canvas_totals(out, tmp_path) == {"A0000001A": "5", "A0000002B": "3.5", "A0000003C": "4.5"}
    log = [a for a in gradebook.audit(out) if a["by"] == "carol"]
    assert [(a["action"], a["question"], a["stem"], a["item"]) for a in log] == [
        ("edit item", "Q3", None, "sign"), ("re-compute", "Q3", "A0000001A", "sign"),
        ("re-compute", "Q3", "A0000002B", "sign"), ("edit item", "Q1", None, "full"),
        *(("re-compute", "Q1", sid, "full") for sid in ("A0000001A", "A0000002B", "A0000003C"))]
    assert (log[0]["before"]["points"], log[0]["after"]["points"]) == (-1, -0.5)
    assert (log[1]["before"], log[1]["after"]) == ({"marks": 2}, {"marks": 2.5})
    assert log[3]["after"] == {"text": "Correct softmax and loss.", "points": 2.5} and all(a["at"] for a in log)
    marks_log = [a for a in gradebook.audit(out) if a["action"] in ("apply items", "mark")]
    assert [(a["by"], a["stem"], a["after"]["items"], a["after"]["marks"]) for a in marks_log] == [
        ("alice", "A0000001A", ["full", "sign"], 2), ("alice", "A0000002B", ["stops-at-ds", "sign"], 0.5),
        ("bob", "A0000003C", [], 2)]
    with pytest.raises(gradebook.StaleMark):                                    # a page opened before the edit
        gradebook.apply_items(out, "A0000001A", "Q3", ["full"], 0, None, "alice", seen["A0000001A"])
    for kwargs, said in (({"points": 4}, "points: expected \"full\" or a number from -3 to 3 but found 4"),
                         ({"text": ""}, "text: expected a text"), ({}, "expected new points or a new text"),
                         ({"points": "-1"}, "found '-1'")):
        with pytest.raises(ValueError, match=re.escape(said)):
            gradebook.edit_item(out, "Q3", "sign", by="carol", **kwargs)
    with pytest.raises(ValueError, match=r"expected one of Q3's items \(full, .*\) but found 'typo'"):
        gradebook.edit_item(out, "Q3", "typo", points=1, by="carol")


def test_quiz1_mark_applies_items_from_the_command_line_and_quiz1_rubric_lists_them(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    out = graded(tmp_path / "out")
    assert main(["rubric", str(out), "Q3"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in listed][:5] == ["full", "stops-at-ds", "chain-rule-only", "relu-path", "sign"]
    assert main(["mark", str(out), "A0000001A", "Q3", "--items", "full,sign", "--by", "bob"]) == 0      # 3 - 1
    assert main(["mark", str(out), "A0000002B", "Q3", "--items", "stops-at-ds", "--adjust", "0.5", "--by", "bob"]) == 0
    said = capsys.readouterr().out
    assert "A0000001A Q3: 2 of 3 (full, sign), marked by bob" in said, said
    assert "A0000002B Q3: 1.5 of 3 (stops-at-ds, +0.5), marked by bob" in said, said
    assert (it_of(out, "A0000001A", "Q3")["applied"], it_of(out, "A0000002B", "Q3")["marks"]) == (["full", "sign"], 1.5)
    for bad, words in ((["--items", "nope"], "expected ids of Q3's items"), (["2", "--items", "full"], "found both"),
                       ([], "found neither"), (["2", "--adjust", "1"], "--adjust: expected it with --items"),
                       (["--items", "full", "--adjust", "9"], "adjustment: expected -3 to 3")):
        assert main(["mark", str(out), "A0000003C", "Q3", *bad, "--by", "bob"]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1, err
    assert it_of(out, "A0000003C", "Q3")["marks"] is None                    # nothing half-written
    assert main(["rubric", str(out), "Q9"]) == 2 and "expected one of Q1, Q2" in capsys.readouterr().err


def test_an_item_a_ta_adds_is_applied_like_the_rubrics_and_a_regrade_keeps_the_tas_items(tmp_path):
    graded(tmp_path)
    new = gradebook.add_item(tmp_path, "Q3", text="The loss's 1/N is dropped.", points=-0.5, by="alice")
    assert new["id"] == "the-loss-s-1-n-is-dropped" and new["points"] == -0.5
    again = gradebook.add_item(tmp_path, "Q3", text="The loss's 1/N is dropped.", points=-1, by="bob")
    assert again["id"] == "the-loss-s-1-n-is-dropped-2"
    with pytest.raises(ValueError, match="expected an id Q3 does not have yet but found 'sign'"):
        gradebook.add_item(tmp_path, "Q3", text="x", points=1, by="bob", id="sign")
    with pytest.raises(ValueError, match="question: expected one of the gradebook's questions"):
        gradebook.add_item(tmp_path, "Q9", text="x", points=1, by="bob")
    apply(tmp_path, "A0000001A", "Q3", ["full", new["id"]])                   # 3 - 0.5
    assert it_of(tmp_path, "A0000001A", "Q3")["marks"] == 2.5
    assert [i["id"] for i in gradebook.rubric_items(tmp_path, "Q3")][-2:] == [new["id"], again["id"]]
    gradebook.edit_item(tmp_path, "Q3", "sign", text="A sign slip.", by="alice")
    gradebook.record(tmp_path, "A0000001A", report("A0000001A", Q1="correct", Q3="wrong"), load_rubric())  # a re-run
    a = it_of(tmp_path, "A0000001A", "Q3")
    assert (a["marks"], a["applied"], a["marked_by"], a["flagged"]) == (2.5, ["full", new["id"]], "alice", 1)
    texts = {i["id"]: (i["text"], i["by"]) for i in gradebook.rubric_items(tmp_path, "Q3")}
    assert texts["sign"] == ("A sign slip.", "alice")                        # the TA's words, kept by the re-run


def test_a_tas_item_no_mark_uses_can_be_deleted_and_nothing_else(tmp_path):
    """A mistaken item a TA added goes (and stays gone after a regrade); one a mark uses, or one of the rubric file
    (it would come back with the next grade), is refused in one sentence and nothing changes."""
    (tmp_path / "out").mkdir()
    out = graded(tmp_path / "out")
    gradebook.add_item(out, "Q3", text="Typo item.", points=1, by="bob", id="typo")
    gradebook.add_item(out, "Q3", text="Uses W2 for W1.", points=-1, by="bob", id="w2-for-w1")
    apply(out, "A0000001A", "Q3", ["full", "w2-for-w1"])                                # 3 - 1 = 2
    for item_id, said in (("w2-for-w1", "1 mark(s) use it (A0000001A)"), ("sign", "comes from the rubric file"),
                          ("nope", "expected one of Q3's items")):
        with pytest.raises(ValueError, match=re.escape(said)):
            gradebook.delete_item(out, "Q3", item_id, by="bob")
    assert gradebook.delete_item(out, "Q3", "typo", by="bob")["text"] == "Typo item."
    ids = [r["id"] for r in gradebook.rubric_items(out, "Q3")]
    assert "typo" not in ids and {"w2-for-w1", "sign"} <= set(ids) and it_of(out, "A0000001A", "Q3")["marks"] == 2
    assert ("bob", "delete item", "typo") in [(a["by"], a["action"], a["item"]) for a in gradebook.audit(out)]
    gradebook.seed(out, load_rubric())                                                  # what grade does again
    assert "typo" not in [r["id"] for r in gradebook.rubric_items(out, "Q3")]


def test_an_item_no_ta_edited_follows_the_rubric_file_when_graded_again_with_it(tmp_path):
    graded(tmp_path, ("A0000001A",))
    apply(tmp_path, "A0000001A", "Q3", ["full", "relu-path"])                # 3 - 1
    text = files("quiz1.grading.marks").joinpath("rubric.toml").read_text()
    mine = tmp_path / "rubric.toml"
    mine.write_text(text.replace('id = "relu-path"\ntext = "The path through the ReLU (its derivative, 1 where f > 0) '
                                 'is missing."\npoints = -1', 'id = "relu-path"\ntext = "No ReLU path."\npoints = -1.5'))
    gradebook.record(tmp_path, "A0000001A", report("A0000001A", Q1="correct", Q3="unverified"), load_rubric(mine))
    assert it_of(tmp_path, "A0000001A", "Q3")["marks"] == 1.5                 # 3 - 1.5
    last = gradebook.audit(tmp_path)[-2:]
    assert [(a["by"], a["action"]) for a in last] == [("rubric", "edit item"), ("rubric", "re-compute")]


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE submissions (
    stem TEXT PRIMARY KEY, zip TEXT NOT NULL, student_id TEXT, graded INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE items (
    stem TEXT NOT NULL REFERENCES submissions(stem), question TEXT NOT NULL, verdict TEXT NOT NULL,
    evidence TEXT NOT NULL, max_marks REAL NOT NULL, marks REAL, marked_by TEXT, marked_at TEXT,
    comment TEXT NOT NULL DEFAULT '', flagged INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (stem, question));
INSERT INTO meta VALUES ('schema_version', '1');
"""


def v1_gradebook(out):
    """A gradebook as quiz1 wrote it before rubric items (schema 1): one student, the machine's 3 for Q1, alice's 2.5
    and her comment for Q3 (flagged: the verdict changed under it), Q4 waiting for a human, the rest the machine's 0."""
    db = sqlite3.connect(out / "gradebook.sqlite")
    db.executescript(V1_SCHEMA)
    db.execute("INSERT INTO submissions VALUES ('A0000001A', 'A0000001A.zip', 'A0000001A', 1, '2023-10-04T10:00:00')")
    ev = json.dumps({"found": "0.25", "expected": "0.5", "note": "a human should read it"})
    rows = {"Q1": ("correct", 3, "machine", "", 0, 2), "Q3": ("wrong", 2.5, "alice", "sign slip", 1, 4),
            "Q4": ("unverified", None, None, "", 0, 1)}
    for q in QS:
        verdict, marks, by, comment, flagged, version = rows.get(q, ("missing", 0, "machine", "", 0, 1))
        top = 2 if q in ("Q6", "Q7") else 3
        db.execute("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   ("A0000001A", q, verdict, ev, top, marks, by, "2023-10-04T10:00:00" if by else None, comment, flagged,
                    version))
    db.commit()
    db.close()
    return out


def test_a_schema_1_gradebook_is_migrated_on_connect_with_no_mark_lost(tmp_path, capsys):
    out = v1_gradebook(tmp_path)
    before = {r[0]: r[1:] for r in sqlite3.connect(out / "gradebook.sqlite").execute(
        "SELECT question, marks, marked_by, comment, flagged, version, verdict, evidence FROM items")}
    got = {it["question"]: it for it in gradebook.items(out)}                 # connect migrates
    assert {q: (it["marks"], it["marked_by"], it["comment"], it["flagged"], it["version"], it["verdict"], it["evidence"])
            for q, it in got.items()} == before
    assert {q: (it["adjustment"], it["applied"]) for q, it in got.items()} == {
        q: (before[q][0], []) for q in QS}                                      # each mark kept as an adjustment
    db = sqlite3.connect(out / "gradebook.sqlite")
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
    db.close()
    assert [(a["action"], a["after"]) for a in gradebook.audit(out)] == [
        ("migrate", {"schema_version": 2, "marks kept as adjustments": 6})]
    gradebook.connect(out).close()                                             # once only
    assert len(gradebook.audit(out)) == 1
    assert main(["export", str(out), "--csv", str(tmp_path / "m.csv")]) == 0   # 3 + 2.5 (Q4 waits), as before
    row = next(csv.DictReader(open(tmp_path / "m.csv")))
    assert (row["total (of 15)"], row["Q3"], row["pending"]) == ("5.5", "2.5", "Q3 Q4")
    gradebook.record(out, "A0000001A", report("A0000001A", Q1="correct", Q3="wrong", Q4="unverified"), load_rubric())
    got = {it["question"]: it for it in gradebook.items(out)}                 # a re-run: the rubric's items now
    assert (got["Q1"]["marks"], got["Q1"]["applied"]) == (3, ["full"])
    assert (got["Q3"]["marks"], got["Q3"]["marked_by"], got["Q3"]["comment"]) == (2.5, "alice", "sign slip")
    apply(out, "A0000001A", "Q4", ["set-1", "set-2"])
    assert it_of(out, "A0000001A", "Q4")["marks"] == 2


def test_a_newer_gradebook_is_refused_in_one_sentence(tmp_path):
    db = sqlite3.connect(tmp_path / "gradebook.sqlite")
    db.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "INSERT INTO meta VALUES ('schema_version', '3');")
    db.close()
    with pytest.raises(ValueError, match="schema version 3, but this quiz1 reads version 2"):
        gradebook.connect(tmp_path)


def feedback_class(out):
    rubric = load_rubric()
    notes = {"Q1": ("2.3026 (mean loss)", "2.3025851"), "Q2": ("[19, 26, 35]", "[22, 29, 38]"),
             "Q3": ("$(\\sigma(s) - y) W_1$", None)}
    gradebook.record(out, "A0000001A", report("A0000001A", notes, Q1="correct", Q2="wrong", Q3="unverified",
                                              Q5="error", Q6="correct"), rubric)
    apply(out, "A0000001A", "Q3", ["full", "sign"], 0.5, "Right chain rule; check the sign of (y - p).")
    return out


@pytest.mark.parametrize("reveal", [False, True])
def test_feedback_pages_speak_the_students_words(tmp_path, capsys, reveal):
    out = feedback_class(tmp_path)
    assert main(["export", str(out), "--feedback", *(["--reveal"] if reveal else [])]) == 0
    page = (out / "feedback" / "A0000001A.html").read_text()
    text = re.sub(r"<[^>]+>", " ", page)
    for word in GRADER_WORDS:
        assert word not in page.lower(), word
    assert "machine" not in text and "alice" not in text                       # nor who marked
    assert "<b>5.5</b> of 15" in page and "bonus <b>2</b> of 4" in page        # 3 + 0 + 2.5 + 0 + 0; Q6's 2
    assert "2.5 / 3" in page and "Correct: dL/dx derived in full (any notation is accepted)." in page
    assert "A sign error in the gradient." in page and "(-1)" in page and "Adjusted by your marker" in page
    assert "Right chain rule; check the sign of (y - p)." in page
    assert "Your answer does not match the expected result." in page           # Q2, wrong
    assert "The code for this question did not run to the end." in page        # Q5
    assert "No answer to this question was found in your notebook." in page   # Q4, missing
    assert ("[22, 29, 38]" in page and "[19, 26, 35]" in page and "2.3025851" in page) == reveal
    assert ("<th>expected</th>" in page) == reveal
    said = capsys.readouterr().out
    assert ("--reveal" in said) == reveal


def test_reveal_without_feedback_is_refused(tmp_path, capsys):
    feedback_class(tmp_path)
    assert main(["export", str(tmp_path), "--csv", str(tmp_path / "m.csv"), "--reveal"]) == 2
    err = capsys.readouterr().err
    assert "--reveal" in err and "--feedback" in err and not (tmp_path / "m.csv").exists()


# --------------------------------------------------------------------------
# the review API's writes of items: the same checks as /api/mark




def test_the_item_writes_must_be_json_from_this_page_with_its_token(tmp_path):
    out = make_class(tmp_path, sids=("A0000001A", "A0000002B"))
    v = item(out, "A0000001A", "Q3")["version"]
    writes = {"/api/items": {"stem": "A0000001A", "question": "Q3", "items": ["full"], "by": "mallory", "version": v},
              "/api/rubric/edit": {"question": "Q1", "id": "full", "points": 0, "by": "mallory"},
              "/api/rubric/add": {"question": "Q3", "text": "Free marks.", "points": 3, "by": "mallory"},
              "/api/rubric/delete": {"question": "Q3", "id": "sign", "by": "mallory"}}
    with review_server(out) as (base, _):
        for path, body in writes.items():
            for headers, why in review_pages.refused_headers(base):    # the urlencoded form's too
                status, answer = post_to(base, path, body, headers)
                assert (status, why in answer["error"]) == (403, True), (path, headers)
        assert item(out, "A0000001A", "Q3")["marks"] is None and item(out, "A0000001A", "Q1")["marks"] == 3
        assert [i["id"] for i in gradebook.rubric_items(out, "Q3")] == [i.id for i in load_rubric().questions["Q3"].items]
        assert not [a for a in gradebook.audit(out) if a["by"] == "mallory"]
        status, answer = post_to(base, "/api/items", {**writes["/api/items"], "items": ["full", "sign"],
                                                       "adjustment": 0.5, "by": "alice", "comment": "sign"})
        assert (status, answer["marks"], answer["items"], answer["version"]) == (200, 2.5, ["full", "sign"], v + 1)
        status, answer = post_to(base, "/api/items", {**writes["/api/items"], "by": "bob"})     # alice's came first
        assert status == 409 and "changed since you opened it" in answer["error"]
        status, answer = post_to(base, "/api/rubric/edit", {"question": "Q3", "id": "sign", "points": -0.5, "by": "bob"})
        assert status == 200 and answer["recomputed"] == [["A0000001A", 2.5, 3]]   # 3 - 0.5 + 0.5
        status, answer = post_to(base, "/api/rubric/add", {"question": "Q3", "text": "Uses W2 for W1.", "points": -1,
                                                            "by": "bob", "id": "w2-for-w1"})
        assert status == 200 and answer["id"] == "w2-for-w1"
        for path, body, said in (("/api/items", {**writes["/api/items"], "version": v + 2, "items": ["nope"], "by": "a"},
                                  "expected ids of Q3's items"),
                                 ("/api/items", {"stem": "A0000001A", "question": "Q3", "by": "a", "version": v + 2},
                                  "found no items"),
                                 ("/api/items", {**writes["/api/items"], "version": v + 2, "by": None}, "marked by"),
                                 ("/api/rubric/edit", {"question": "Q3", "id": "sign", "points": True, "by": "a"},
                                  "points"),
                                 ("/api/rubric/edit", {"question": "Q3", "id": ["sign"], "by": "a", "text": "x"}, "id"),
                                 ("/api/rubric/add", {"question": "Q3", "text": "x" * 301, "points": 1, "by": "a"},
                                  "1 to 300 characters"),
                                 ("/api/rubric/add", ["not", "an", "object"], "JSON object")):
            status, answer = post_to(base, path, body)
            assert status == 400 and said in answer["error"], (path, answer)
    it = item(out, "A0000001A", "Q3")
    assert (it["marks"], it["applied"], it["marked_by"], it["comment"]) == (3, ["full", "sign"], "alice", "sign")
    assert item(out, "A0000002B", "Q3")["marks"] is None


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_one_key_applies_an_item_and_an_edit_re_computes_the_mark_in_chromium(tmp_path):
    """On Q3 the keys are a full, s stops-at-ds, d chain-rule-only, f relu-path, g sign (the rubric's order)."""
    from playwright.sync_api import expect

    out = make_class(tmp_path, sids=("A0000001A", "A0000002B"))
    with review_server(out) as (base, writes), chromium() as browser:
        page = browser.new_page()
        answers = iter(["-0.5", "A sign slip in dL/ds."])
        page.on("dialog", lambda d: d.accept(next(answers)))
        page.goto(base + "/item/A0000001A/Q3")
        page.locator("#by").click()
        page.keyboard.type("alice")
        page.keyboard.press("Enter")
        page.locator("h1").click()
        assert "a" in page.inner_text("button.ri[data-id='full'] kbd")
        page.keyboard.press("a")
        page.keyboard.press("g")                                             # while the first save is in flight
        expect(page.locator("#status")).to_have_text("saved: 2 (full + sign) by alice")
        assert page.input_value("#marks") == "2"
        expect(page.locator("button.ri.on")).to_have_count(2)
        page.keyboard.press("c")
        page.keyboard.type("check the sign of (y - p)")
        page.keyboard.press("Control+Enter")                                 # the comment, saved with the items
        expect(page.locator("#status")).to_have_text("saved: 2 (full + sign) by alice")
        it = item(out, "A0000001A", "Q3")
        assert (it["marks"], it["applied"], it["comment"]) == (2, ["full", "sign"], "check the sign of (y - p)")
        page.locator("button.edit[data-id='sign']").click()                  # points -0.5, then the text
        expect(page.locator("button.ri[data-id='sign']")).to_contain_text("A sign slip in dL/ds.")
        assert page.input_value("#marks") == "2.5"                           # re-computed, shown after the reload
        page.goto(base + "/item/A0000002B/Q3")
        page.keyboard.press("g")
        expect(page.locator("#status")).to_have_text("saved: 0 (sign) by alice")    # -0.5: clipped to 0
        page.keyboard.press("2")                                             # a digit: the mark, no item
        expect(page.locator("#status")).to_have_text("saved: 2 by alice")
        expect(page.locator("button.ri.on")).to_have_count(0)
        page.goto(base + "/item/A0000002B/Q1?all=1")                        # the machine's full 3
        page.locator("#adjust").fill("-0.5")
        page.keyboard.press("Enter")                                         # an adjustment on top of the item
        expect(page.locator("#status")).to_have_text("saved: 2.5 (full) by alice")
        page.keyboard.press("c")
        page.keyboard.type("no max subtracted: overflows for large logits")
        page.keyboard.press("Escape")                                        # the comment, with the items kept
        expect(page.locator("#status")).to_have_text("saved: 2.5 (full) by alice")
        page.wait_for_timeout(500)
    q1 = item(out, "A0000002B", "Q1")
    assert (q1["marks"], q1["applied"], q1["adjustment"], q1["marked_by"], q1["comment"]) == (
        2.5, ["full"], -0.5, "alice", "no max subtracted: overflows for large logits")
    assert (item(out, "A0000001A", "Q3")["marks"], item(out, "A0000002B", "Q3")["marks"]) == (2.5, 2)
    assert item(out, "A0000002B", "Q3")["applied"] == []
    assert writes.count("/api/rubric/edit") == 1 and writes.count("/api/mark") == 1   # the digit 2
    assert writes.count("/api/items") == 6            # a, g, the comment; g; the adjustment, the comment: no more
