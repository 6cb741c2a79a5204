"""The answer groups in `quiz1 review` (issue 36, item 1, the review page): a question's groups, one group's members
side by side, marked in one action; moves and merges; the writes hold against other origins as /api/mark does.

The class is written here by hand: five report JSONs (Q3 through the grader's own ``check_q3``: three students who
stop at dL/ds, spelt three ways, one group; one right, one without the ReLU's path), each recorded into the gradebook
as ``quiz1 grade`` does, with an executed notebook holding the Q1 and Q3 sections. Every expected mark is added up by
hand from quiz1's rubric.toml: Q1-Q5 3 marks, Q6 Q7 2 bonus; Q1 correct is "full" 3; Q3's items full 3,
stops-at-ds 1, chain-rule-only 1, relu-path -1, sign -1; a wrong Q3 "not-matching" 0; a missing question 0.
"""
from __future__ import annotations

import functools
import html
import json
import re
import shutil
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import nbformat
import numpy as np
import pytest

import review_pages
from quiz1.grading.marks import gradebook, groups
from quiz1.grading.marks.rubric import load_rubric
from quiz1.grading.questions.equivalence import check_q3
from quiz1.grading.web.group_review import key_of_token, key_token
from review_pages import QS, chromium, post_to, review_server

DS = [r"$$\frac{\partial L}{\partial s} = \sigma(s) - y$$", r"$$\frac{\partial L}{\partial s} = \hat{y} - y$$",
      r"$$\frac{\partial L}{\partial s} = \frac{1}{1 + \exp(-s)} - y$$"]
RIGHT = r"$$\frac{\partial L}{\partial x_i} = (\sigma(s) - y)\sum_j W_{ij}(\mathbb{1}[f_j>0] + v_j)$$"
NO_RELU = r"$$\frac{\partial L}{\partial X} = (\hat y - y) W_1 W_2$$"
CLASS = {"A0000001A": DS[0], "A0000002B": DS[1], "A0000003C": DS[2], "A0000004D": RIGHT, "A0000005E": NO_RELU}
STOPS = ("A0000001A", "A0000002B", "A0000003C")
HOSTILE = ("<script>document.title = 'pwned'</script><img src=x onerror=\"document.title='pwned'\"> "
           "[click](javascript:alert(1)) <iframe src='https://example.org'></iframe>")
MEAN = "1.723452"
CANVAS = ("Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (12345)\n    Points Possible,,,,,15.00\n"
          + "".join(f"\"Student, {sid[-1]}\",{n},{sid},{sid.lower()},CS5242,\n" for n, sid in enumerate(CLASS, 11)))


@functools.lru_cache(maxsize=None)
def q3(tex: str) -> dict:
    r = check_q3([tex])
    return {"status": r.status, "found": r.found, "expected": None, "note": r.note}


def report(sid: str) -> dict:
    """The report JSON `quiz1 grade` would write: Q1 correct (its mean in the cell In [2]), Q3 as the grader reads the
    student's formula, the rest missing."""
    qs = {q: {"status": "missing", "found": None, "expected": None, "note": "no section for it"} for q in QS}
    qs["Q1"] = {"status": "correct", "found": f"mean {MEAN} ({sid}.ipynb In [2])", "expected": MEAN,
                "note": "followed the data: on the variant data the same cell printed its mean 2.1"}
    qs["Q3"] = q3(CLASS[sid])
    return {"zip": f"{sid}.zip", "student_id": sid, "graded": True, "measures": {}, "questions": qs}


def notebook(sid: str, extra: str = "") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    load = nbformat.v4.new_code_cell("import numpy as np\nz = np.loadtxt('Q_1/data.txt')", execution_count=1)
    loss = nbformat.v4.new_code_cell("l = -(y * np.log(softmax(z))).sum(1)\nprint(f'mean {l.mean():.6f}')",
                                     execution_count=2)
    loss.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"mean {MEAN}\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("## Question 1"), load, loss,
                nbformat.v4.new_markdown_cell("## Question 3"),
                nbformat.v4.new_markdown_cell(f"By the chain rule, with $s = v^T \\mathrm{{ReLU}}(W^T x)$:\n\n{CLASS[sid]}"
                                              f"{extra}"),
                nbformat.v4.new_markdown_cell("## Question 4")]
    return nb


def make_class(out: Path, hostile: str | None = None) -> Path:
    """The five students: report JSONs, their notebooks, recorded into the gradebook as `quiz1 grade` does;
    ``hostile``: a student whose Q3 section carries markup that must not run."""
    rubric = load_rubric()
    for sid in CLASS:
        r = report(sid)
        (out / f"{sid}.json").write_text(json.dumps(r))
        nbformat.write(notebook(sid, "\n\n" + HOSTILE if sid == hostile else ""), out / f"{sid}.ipynb")
        gradebook.record(out, sid, r, rubric)
    return out


def it_of(out, stem, q="Q3") -> dict:
    return gradebook.item(out, stem, q)


def totals(out) -> dict:
    """Each student's total + bonus as the gradebook holds it (every item's mark added up)."""
    got: dict = {}
    for it in gradebook.items(out):
        got[it["student_id"]] = got.get(it["student_id"], 0) + (it["marks"] or 0)
    return got


def canvas_totals(out, tmp_path) -> dict:
    return review_pages.canvas_totals(out, tmp_path, CANVAS)




def get(base: str, path: str) -> tuple[int, str]:
    try:
        with urlopen(base + path) as r:
            return r.status, r.read().decode()
    except HTTPError as e:
        return e.code, e.read().decode()


def group_of(out, stem, q="Q3") -> groups.Group:
    return next(g for g in groups.groups(out, q) if stem in g.members)


def versions(out, stems, q="Q3") -> dict:
    return {s: it_of(out, s, q)["version"] for s in stems}


# --------------------------------------------------------------------------
# the pages

def test_the_groups_page_lists_the_groups_to_mark_first_largest_first_and_links_each(tmp_path):
    out = make_class(tmp_path)
    with review_server(out) as (base, _):
        status, queue = get(base, "/")
        assert status == 200 and all(f'href="/groups/{q}"' in queue for q in QS)          # from the queue page
        status, page = get(base, "/groups/Q3")
        assert status == 200
        rows = re.findall(r'<td class="(\w+)">\w+</td><td class="n">(\d+)</td>\s*<td class="n">(\d+) of \d+</td>'
                          r'<td class="n">(\d*)</td>\s*<td class="label"><a class="group" href="/group/Q3/([\w-]+)">', page)
        assert [(s, int(n), int(ta), w) for s, n, ta, w, _ in rows] == [
            ("unverified", 3, 0, "3"), ("correct", 1, 0, ""), ("wrong", 1, 0, "")]   # to mark first, then spot-checks
        assert key_of_token(rows[0][4]) == group_of(out, "A0000001A").key
        assert "stops at dL/ds" in page or "dL/ds" in page
        status, page = get(base, f"/group/Q3/{rows[0][4]}")
        assert status == 200
        page = html.unescape(page)
        for sid in STOPS:                                   # side by side: each member's card, its formula shown open
            assert f'<div class="member" data-stem="{sid}" data-ta="0" data-waiting="1">' in page
        assert page.count("the section's formulas and outputs") == 3 and r"\hat{y} - y" in page
        assert page.count('class="ri') == len(gradebook.rubric_items(out, "Q3"))
        assert "<kbd>s</kbd> <b>+1</b>" in page                                             # the item page's keys
        assert get(base, "/group/Q3/bm9wZQ")[0] == 404 and get(base, "/group/Q3/%25%25")[0] == 404
        assert get(base, "/groups/Q9")[0] == 404
        status, page = get(base, f"/group/Q1/{key_token(group_of(out, 'A0000001A', 'Q1').key)}")
        assert status == 200 and page.count("the cell the grader read") == 5                 # Q1's In [2], cited
        assert page.count("<span class='prompt'>In [2]:</span>") == 5 * 2                    # open, and in the section


def q5_class(out: Path) -> Path:
    """Three Q5 answers: two MLPs 5% off f (one unverified group: the band 2-10%), one that fits (correct)."""
    x = np.linspace(-1, 1, 50)
    truth = np.c_[np.sin(3 * x), np.cos(3 * x)]
    for sid, off, status in (("A0000001A", 0.05, "unverified"), ("A0000002B", 0.05, "unverified"),
                             ("A0000004D", 0.005, "correct")):
        r = report(sid)
        r["questions"]["Q5"] = {"status": status, "found": f"module `MLP` (900 parameters): RMSE {off:.1%}",
                                "expected": None, "note": "measured"}
        r["measures"] = {"Q5": {"name": "MLP", "kind": "module", "params": 900, "rmse": off, "rmse_data": off,
                                "bypass": None, "beyond": None, "between": 50, "orientation": "forward", "input": "x",
                                "output_scaled": False, "hidden": 2, "activations": ["relu"], "all_activated": True,
                                "x": x.tolist(), "pred": (truth + off).tolist(), "truth": truth.tolist(),
                                "memorised": None}}
        (out / f"{sid}.json").write_text(json.dumps(r))
        nbformat.write(notebook(sid), out / f"{sid}.ipynb")
        gradebook.record(out, sid, r, load_rubric())
    return out


def test_a_group_page_shows_each_members_figure_served_apart_and_only_where_one_is_drawn(tmp_path):
    out = q5_class(tmp_path)
    g = group_of(out, "A0000001A", "Q5")
    assert set(g.members) == {"A0000001A", "A0000002B"} and g.status == "unverified"
    with review_server(out) as (base, _):
        status, page = get(base, f"/group/Q5/{key_token(g.key)}")
        srcs = re.findall(r'<img class="fig"[^>]*src="([^"]+)"', page)
        assert status == 200 and srcs == ["/figure/A0000001A/Q5.png", "/figure/A0000002B/Q5.png"], srcs
        with urlopen(base + srcs[0]) as r:
            assert r.headers["Content-Type"] == "image/png" and r.read(8) == b"\x89PNG\r\n\x1a\n"
        for path in ("/figure/A0000004D/Q5.png",         # correct: Q5 draws nothing
                     "/figure/A0000001A/Q3.png",         # Q3 draws nothing
                     "/figure/..%2Fgradebook/Q5.png", "/figure/nobody/Q5.png", "/figure/A0000001A/Q9.png"):
            assert get(base, path)[0] == 404, path


def test_a_students_markup_on_a_group_page_is_sanitised_as_on_the_item_page(tmp_path):
    out = make_class(tmp_path, hostile="A0000002B")
    with review_server(out) as (base, _):
        status, page = get(base, f"/group/Q3/{key_token(group_of(out, 'A0000002B').key)}")
    assert status == 200 and "A0000002B" in page
    assert "pwned" not in page and "onerror" not in page and "href=\"javascript" not in page and "<iframe" not in page


def test_marking_a_group_applies_the_items_to_every_member_at_the_version_it_saw(tmp_path):
    out = make_class(tmp_path)
    key = group_of(out, "A0000001A").key
    seen = versions(out, STOPS)
    gradebook.apply_items(out, "A0000002B", "Q3", ["chain-rule-only"], 0.5, "bob's own", "bob", seen["A0000002B"])
    with review_server(out) as (base, _):
        body = {"question": "Q3", "key": key, "versions": seen, "items": ["stops-at-ds"], "adjustment": 0.5,
                "comment": "stops at dL/ds", "by": "alice"}
        status, answer = post_to(base, "/api/group/items", body)
        assert status == 200, answer
        assert [(a["stem"], a["marks"], a["items"], a["version"]) for a in answer["applied"]] == [
            ("A0000001A", 1.5, ["stops-at-ds"], seen["A0000001A"] + 1),
            ("A0000003C", 1.5, ["stops-at-ds"], seen["A0000003C"] + 1)]                       # 1 + 0.5
        assert [s["stem"] for s in answer["stale"]] == ["A0000002B"] and answer["skipped"] == []
        assert "changed since you opened it" in answer["stale"][0]["error"]
        b = it_of(out, "A0000002B")                                                          # bob's, not overwritten
        assert (b["marks"], b["applied"], b["marked_by"], b["comment"]) == (1.5, ["chain-rule-only"], "bob", "bob's own")
        for sid in ("A0000001A", "A0000003C"):
            it = it_of(out, sid)
            assert (it["marks"], it["applied"], it["adjustment"], it["marked_by"], it["comment"]) == (
                1.5, ["stops-at-ds"], 0.5, "alice", "stops at dL/ds")
        # a refusal saves nothing for anyone (one transaction); no comment keeps each one's
        now = versions(out, STOPS)
        for bad, said in ((["stops-at-ds", "nope"], "expected ids of Q3's items"), ("full", "a list of item ids")):
            status, answer = post_to(base, "/api/group/items", {**body, "versions": now, "items": bad})
            assert status == 400 and said in answer["error"], answer
        for field, value, said in (("by", "machine", "marked by"), ("versions", [1, 2], "versions"),
                                   ("versions", {}, "versions"), ("question", "Q9", "question"), ("key", 3, "key"),
                                   ("adjustment", 9, "adjustment")):
            status, answer = post_to(base, "/api/group/items", {**body, "versions": now, field: value})
            assert status == 400 and said in answer["error"], (field, answer)
        assert versions(out, STOPS) == now
        status, answer = post_to(base, "/api/group/items", {**body, "versions": {**now, "A0000004D": 1}, "items": ["full"],
                                                            "adjustment": None, "comment": None, "by": "carol"})
        assert status == 200 and [a["marks"] for a in answer["applied"]] == [3, 3, 3]
        assert answer["skipped"] == [{"stem": "A0000004D", "why": "left this group since you opened it: not marked"}]
        assert [it_of(out, s)["comment"] for s in STOPS] == ["stops at dL/ds", "bob's own", "stops at dL/ds"]
        assert it_of(out, "A0000004D")["marked_by"] == "machine"                              # not in the group
        status, answer = post_to(base, "/api/group/items", {**body, "key": "no such group"})
        assert status == 409 and "no more" in answer["error"]
    log = [(a["by"], a["action"], a["stem"]) for a in gradebook.audit(out) if a["by"] in ("alice", "carol")]
    assert log == [("alice", "apply items", "A0000001A"), ("alice", "apply items", "A0000003C"),
                   *(("carol", "apply items", s) for s in STOPS)]


def test_moves_and_merges_from_the_page_persist_and_a_stale_one_is_refused(tmp_path):
    out = make_class(tmp_path)
    stops, wrong = group_of(out, "A0000001A").key, group_of(out, "A0000005E").key
    with review_server(out) as (base, _):
        status, answer = post_to(base, "/api/group/move", {"question": "Q3", "stem": "A0000003C", "key": stops,
                                                            "to": None, "by": "alice"})
        assert status == 200 and answer["members"] == ["A0000003C"] and key_of_token(answer["token"]) == answer["key"]
        assert group_of(out, "A0000003C").alone and group_of(out, "A0000001A").members == ("A0000001A", "A0000002B")
        status, answer = post_to(base, "/api/group/move", {"question": "Q3", "stem": "A0000003C", "key": stops,
                                                            "to": wrong, "by": "bob"})
        assert status == 409 and "left this group since you opened it" in answer["error"]    # it is alone now
        status, answer = post_to(base, "/api/group/merge", {"question": "Q3", "key": stops, "other": wrong, "by": "bob"})
        assert status == 200 and answer["members"] == ["A0000001A", "A0000002B", "A0000005E"]
        assert get(base, f"/group/Q3/{key_token(wrong)}")[0] == 404                          # merged away
        status, page = get(base, f"/group/Q3/{key_token(stops)}")
        assert status == 200 and 'data-stem="A0000005E"' in page and ">&nbsp;mixed&nbsp;<" in page
        for path, body, code, said in (
                ("/api/group/merge", {"question": "Q3", "key": stops, "other": wrong, "by": "bob"}, 409, "no more"),
                ("/api/group/merge", {"question": "Q3", "key": stops, "other": stops, "by": "bob"}, 400, "another group"),
                ("/api/group/move", {"question": "Q3", "stem": "A0000001A", "key": stops, "to": "made up", "by": "b"},
                 400, "another of Q3's groups"),
                ("/api/group/move", {"question": "Q3", "stem": "nobody", "key": stops, "to": None, "by": "b"}, 400,
                 "a member"),
                ("/api/group/move", {"question": "Q3", "stem": "A0000001A", "key": stops, "to": None, "by": ""}, 400,
                 "marked by"),
                ("/api/group/move", {"question": "Q3", "stem": "A0000001A", "key": stops, "by": "b"}, 400, "found no to")):
            status, answer = post_to(base, path, body)
            assert (status, said in answer.get("error", "")) == (code, True), (body, answer)
    got = {frozenset(g.members) for g in groups.groups(out, "Q3")}                          # read back from the file
    assert got == {frozenset({"A0000001A", "A0000002B", "A0000005E"}), frozenset({"A0000003C"}), frozenset({"A0000004D"})}
    assert [(m["kind"], m["by"]) for m in groups.overrides(out, "Q3")] == [("move", "alice"), ("merge", "bob")]


def test_every_group_write_must_be_json_from_this_page_with_its_token(tmp_path):
    out = make_class(tmp_path)
    stops, wrong = group_of(out, "A0000001A").key, group_of(out, "A0000005E").key
    writes = {"/api/group/items": {"question": "Q3", "key": stops, "versions": versions(out, STOPS),
                                   "items": ["full"], "by": "mallory"},
              "/api/group/move": {"question": "Q3", "stem": "A0000001A", "key": stops, "to": None, "by": "mallory"},
              "/api/group/merge": {"question": "Q3", "key": stops, "other": wrong, "by": "mallory"}}
    before = gradebook.items(out)
    with review_server(out) as (base, _):
        for path, body in writes.items():
            for headers, why in review_pages.refused_headers(base):
                status, answer = post_to(base, path, body, headers)
                assert (status, why in answer["error"]) == (403, True), (path, headers)
    assert gradebook.items(out) == before and groups.overrides(out, "Q3") == []
    assert not [a for a in gradebook.audit(out) if a["by"] == "mallory"]


# --------------------------------------------------------------------------
# in a browser: one key marks the group; an item's edit reaches every total and Canvas

@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_one_key_marks_a_group_and_an_items_edit_reaches_every_total_the_live_report_and_canvas_in_chromium(tmp_path):
    """On Q3 the keys are a full, s stops-at-ds, d chain-rule-only, f relu-path, g sign (the rubric's order)."""
    from playwright.sync_api import expect

    (tmp_path / "out").mkdir()
    out = make_class(tmp_path / "out")
    #                  Q1 + Q3 (the rest missing: 0): the machine's Q3 is full 3 for D, not-matching 0 for E
    assert totals(out) == {"A0000001A": 3, "A0000002B": 3, "A0000003C": 3, "A0000004D": 6, "A0000005E": 3}
    with review_server(out) as (base, writes), chromium() as browser:
        page = browser.new_page()
        answers = iter(["1.5", None])                                       # the points; the text left as it is
        page.on("dialog", lambda d: d.accept(next(answers) or d.default_value))
        page.goto(base + "/")
        page.locator("#answer-groups a", has_text="Q3").click()
        expect(page.locator("h1")).to_contain_text("3 answer group(s)")
        page.locator("a.group").first.click()                               # the unverified group of three
        expect(page.locator("h1")).to_contain_text("a group of 3")
        expect(page.locator(".member")).to_have_count(3)
        page.locator("#by").click()
        page.keyboard.type("alice")
        page.keyboard.press("Enter")
        page.locator("h1").click()
        assert "s" in page.inner_text("button.ri[data-id='stops-at-ds'] kbd")
        page.keyboard.press("s")                                            # one key: every member
        expect(page.locator("#status")).to_have_text("saved: 1 (stops-at-ds) for 3 of 3 students by alice")
        expect(page.locator("#by-ta")).to_have_text("3")
        expect(page.locator("#waiting")).to_have_text("0")
        for sid in STOPS:
            expect(page.locator(f".member[data-stem='{sid}'] .mark")).to_have_text("1")
            it = it_of(out, sid)
            assert (it["marks"], it["applied"], it["marked_by"]) == (1, ["stops-at-ds"], "alice")
        assert totals(out) == {"A0000001A": 4, "A0000002B": 4, "A0000003C": 4, "A0000004D": 6, "A0000005E": 3}
        assert canvas_totals(out, tmp_path) == {"A0000001A": "4", "A0000002B": "4", "A0000003C": "4",
                                                "A0000004D": "6", "A0000005E": "3"}
        group_page = page.url
        page.goto(base + "/report")                                         # the live report: 4 4 4 6 3
        expect(page.locator("#median")).to_contain_text("4 /")
        expect(page.locator("#mean")).to_contain_text("4.20 /")
        page.goto(group_page)
        page.locator("h1").click()
        page.locator("button.edit[data-id='stops-at-ds']").click()          # 1 -> 1.5, for the whole class
        expect(page.locator("button.ri[data-id='stops-at-ds']")).to_contain_text("+1.5")
        for sid in STOPS:                                                   # re-computed, shown after the reload
            expect(page.locator(f".member[data-stem='{sid}'] .mark")).to_have_text("1.5")
        expect(page.locator("button.ri.on")).to_have_count(1)
        page.goto(base + "/report")                                         # 4.5 4.5 4.5 6 3, by hand
        expect(page.locator("#median")).to_contain_text("4.5 /")
        expect(page.locator("#mean")).to_contain_text("4.50 /")
    #                  Q1 3 + Q3 1.5 for the three; D and E use no stops-at-ds: unchanged
    assert {sid: it_of(out, sid)["marks"] for sid in CLASS} == {
        "A0000001A": 1.5, "A0000002B": 1.5, "A0000003C": 1.5, "A0000004D": 3, "A0000005E": 0}
    assert totals(out) == {"A0000001A": 4.5, "A0000002B": 4.5, "A0000003C": 4.5, "A0000004D": 6, "A0000005E": 3}
    assert canvas_totals(out, tmp_path) == {"A0000001A": "4.5", "A0000002B": "4.5", "A0000003C": "4.5",
                                            "A0000004D": "6", "A0000005E": "3"}
    assert writes.count("/api/group/items") == 1 and writes.count("/api/rubric/edit") == 1
    assert [(a["by"], a["action"]) for a in gradebook.audit(out) if a["by"] == "alice"] == [
        *(("alice", "apply items"),) * 3, ("alice", "edit item"), *(("alice", "re-compute"),) * 3]
