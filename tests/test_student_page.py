"""Working a whole class (issue 36, item 3): the queue's "not yet reviewed" filter and counts, a student's page, the
live report and `quiz1 report`.

Each class is written here by hand (a gradebook, the reports' JSON, executed notebooks), and every number a test
checks is computed by hand in its comment: the queue's counts per question and per answer group, the totals'
median, mean and pass rate. The student page's notebook plants script in a student's Markdown, an `onerror=`
image, a `javascript:` link and an HTML output with script, as tests/test_review.py does: none of it is in the
page, and none runs in Chromium. The browser tests drive Debian's Chromium through Playwright (tests/review_pages.py).
"""
from __future__ import annotations

import html
import json
import re
import shutil
from urllib.error import HTTPError
from urllib.request import HTTPRedirectHandler, build_opener, urlopen

import nbformat
import pytest

from quiz1.cli import graded_line, main
from quiz1.grading.marks import gradebook
from quiz1.grading.marks.export import class_marks
from quiz1.grading.marks.rubric import load_rubric
from quiz1.grading.questions import names
from review_pages import QS, chromium, item, review_server

PLANTED = ('The gradient $\\frac{\\partial L}{\\partial x} = W_1 (\\sigma(s) - y)$.\n\n'
           '<script>window.__pwned = "markdown script"</script>\n'
           '<img src="x" onerror="window.__pwned = \'onerror\'">\n\n'
           '[click me](javascript:window.__pwned=\'link\')\n')
UNREAD = "written but the grader could not read it"
SAVED = re.compile(r"^saved")
browser_test = pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")


def full(sid: str, passed: bool = False, evidence: dict | None = None, **status) -> dict:
    """A report as `quiz1 grade` writes it: the statuses given (the rest wrong), with ``evidence`` {question:
    (found, expected, note)}."""
    evidence = evidence or {}
    qs = {}
    for q in QS:
        found, expected, note = evidence.get(q, (None, None, None))
        qs[q] = {"status": status.get(q, "wrong"), "found": found, "expected": expected, "note": note}
    return {"zip": f"{sid}.zip", "student_id": sid, "graded": True, "passed": passed, "questions": qs,
            "layout": {"problems": [], "warnings": []},
            "execution": {"seconds": 1.0, "timed_out": False, "kernel_died": False, "interrupted": False,
                          "stop_reason": "", "errors": []}}


def put(out, *reports) -> None:
    """Each report into the gradebook (stem = student id) and as OUTDIR/<stem>.json."""
    out.mkdir(parents=True, exist_ok=True)
    for rep in reports:
        gradebook.record(out, rep["student_id"], rep, load_rubric())
        (out / f"{rep['student_id']}.json").write_text(json.dumps(rep))


def mark(out, stem, q, marks, by="alice", comment=None) -> None:
    gradebook.set_mark(out, stem, q, marks, by, item(out, stem, q)["version"], comment)


def get(url: str) -> tuple[int, str, str | None]:
    """(status, body, Location) of a GET, redirects not followed."""
    class Keep(HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with build_opener(Keep).open(url) as r:
            return r.status, r.read().decode(), None
    except HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("Location")


# --------------------------------------------------------------------------
# the student page


@pytest.fixture
def one_student(tmp_path):
    """A0000001A: Q1 wrong with its evidence, Q3 unverified (alice applies two items and comments), the others
    correct; a notebook with a section per question, script planted in Q3's Markdown and in an HTML output."""
    ev = {"Q1": ("mean 2.5000", "mean 2.2500", "the mean loss differs by 0.25"),
          "Q3": ("dL/dx = W_1 (sigma(s) - y)", None, "a human should read it")}
    put(tmp_path, full("A0000001A", evidence=ev, Q1="wrong", Q2="correct", Q3="unverified", Q4="correct",
                       Q5="correct", Q6="correct", Q7="correct"),
        full("A0000002B", Q3="unverified"))
    it = item(tmp_path, "A0000001A", "Q3")
    gradebook.apply_items(tmp_path, "A0000001A", "Q3", ["full", "sign"], None, "sign slip in dL/ds", "alice",
                          it["version"])                                # 3 - 1 = 2
    cells = []
    for n in range(1, 8):
        cells.append(nbformat.v4.new_markdown_cell(f"## Question {n}\n\nMy answer to question {n}."
                                                   + ("\n\n" + PLANTED if n == 3 else "")))
        code = nbformat.v4.new_code_cell(f"print('answer {n}')", execution_count=n)
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"printed by question {n}\n")]
        if n == 3:
            code.outputs.append(nbformat.v4.new_output("display_data", data={
                "text/html": "<b onclick=\"window.__pwned='html'\">bold</b><script>window.__pwned='html'</script>",
                "text/plain": "<HTML>"}))
        cells.append(code)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "A0000001A.ipynb")
    return tmp_path


def test_the_student_page_shows_seven_answers_marks_items_and_the_sanitised_notebook(one_student):
    rubric = load_rubric()
    with review_server(one_student) as (base, writes):
        status, page, _ = get(base + "/student/A0000001A")
    assert status == 200 and writes == []
    for q in QS:                                                          # the seven answers, each with its link
        assert f"{q}: {rubric.questions[q].title}" in html.unescape(page)
        assert f'href="/item/A0000001A/{q}"' in page and f"id='nb-{q}'" in page
        assert f"printed by question {q[1]}" in page                      # the notebook, every section
    assert "mean 2.5000" in page and "mean 2.2500" in page and "the mean loss differs by 0.25" in page
    q3 = page[page.index('id="Q3"'):page.index('id="Q4"')]
    sign = rubric.questions["Q3"].item("sign")
    assert '<span class="mark">2</span> / 3 by alice' in q3                # 3 (full) - 1 (sign) = 2
    assert "<b>+3</b>" in q3 and f"<b>{sign.points:+g}</b> {sign.text}" in q3 and "sign slip in dL/ds" in q3
    # total: Q1 wrong 0 + Q2 3 + Q3 2 + Q4 3 + Q5 3 = 11 of 15; bonus Q6 2 + Q7 2 = 4
    assert "<b>total 11</b> of 15" in page and "<b>bonus 4</b> of 4" in page and "every question marked" in page
    assert "\\frac{\\partial L}" in page and "bold" in page                # the student's work is shown ...
    for planted in ("<script>window", "onerror=", "onclick=", 'href="javascript', "href='javascript"):
        assert planted not in page, planted                               # ... and nothing of it runs


def test_a_search_by_student_id_redirects_to_the_one_match_or_lists_them(one_student):
    with review_server(one_student) as (base, _):
        status, _, where = get(base + "/student?id=a0000002b")            # any case: the one student
        assert (status, where) == (303, "/student/A0000002B")
        status, _, where = get(base + "/student?id=0000001")              # a part of one id: the one match
        assert (status, where) == (303, "/student/A0000001A")
        status, page, _ = get(base + "/student?id=A00000")                # a part of both: the list
        assert status == 200 and page.count('class="student"') == 2 and "/student/A0000002B" in page
        status, page, _ = get(base + "/student?id=Z9")
        assert status == 200 and "No submission" in page and page.count('class="student"') == 0
        assert 'action="/student"' in urlopen(base + "/").read().decode()  # the queue's search box
        assert get(base + "/student/NOPE")[0] == 404


# --------------------------------------------------------------------------
# the queue: "not yet reviewed", counts per question and per group


def unverified_class(out):
    """Three students, Q1 correct, Q3 and Q4 unverified; A1 and A2 wrote the same unread Q3 formula (one answer
    group), A3 another; alice marked A1's Q3, A2's and A3's Q4, and A2's Q4 verdict then changed (flagged)."""
    same = ("dL/dx = \\frac{a}{b} + \\mho", None, f"{UNREAD}: a human should read it")
    other = ("dL/dx = \\frac{c}{d} + \\mho", None, f"{UNREAD}: a human should read it")
    reps = {sid: full(sid, evidence={"Q3": ev}, Q1="correct", Q2="missing", Q3="unverified", Q4="unverified",
                      Q5="missing", Q6="missing", Q7="missing")
            for sid, ev in (("A0000001A", same), ("A0000002B", same), ("A0000003C", other))}
    put(out, *reps.values())
    mark(out, "A0000001A", "Q3", 2)
    mark(out, "A0000002B", "Q4", 1)
    mark(out, "A0000003C", "Q4", 3)
    reps["A0000002B"]["questions"]["Q4"]["status"] = "wrong"
    put(out, reps["A0000002B"])                                           # a re-run: A2's Q4 flagged
    return out


def counts_of(page: str) -> dict:
    rows = re.findall(r'<a href="/\?q=(Q\d)">Q\d</a></td><td data-q="Q\d" class="todo">(\d+)</td><td>(\d+)</td>'
                      r'<td>(\d+)</td><td>(\d+)</td>', page)
    return {q: tuple(map(int, n)) for q, *n in rows}


def listed(page: str) -> list[tuple[str, str]]:
    return [(q, s) for s, q in re.findall(r'href="/item/(\w+)/(Q\d)\?', page.split('id="queue"')[1])]


def test_the_queue_shows_what_is_not_yet_reviewed_with_counts_per_question_and_group(tmp_path):
    out = unverified_class(tmp_path)
    assert [(i["stem"], i["question"]) for i in gradebook.items(out) if i["flagged"]] == [("A0000002B", "Q4")]
    with review_server(out) as (base, writes):
        page = urlopen(base + "/").read().decode()
        # by hand: Q3 A2, A3 not yet reviewed, A1 reviewed; Q4 A1 (no mark) and A2 (flagged) not yet, A3 reviewed;
        # Q1 correct (the machine's 3) and Q2, Q5-Q7 missing (the machine's 0): 3 each
        assert counts_of(page) == {"Q1": (0, 0, 3, 3), "Q2": (0, 0, 3, 3), "Q3": (2, 1, 0, 3), "Q4": (2, 1, 0, 3),
                                   "Q5": (0, 0, 3, 3), "Q6": (0, 0, 3, 3), "Q7": (0, 0, 3, 3)}
        assert "2 of 6 reviewed" in page                                  # A1 Q3, A3 Q4 (A2 Q4 is flagged)
        assert listed(page) == [("Q3", "A0000002B"), ("Q3", "A0000003C"), ("Q4", "A0000001A"), ("Q4", "A0000002B")]
        assert 'href="?reviewed=1"' in page and "the 2 reviewed too" in page
        everything = urlopen(base + "/?reviewed=1").read().decode()
        assert len(listed(everything)) == 6 and ("Q3", "A0000001A") in listed(everything)
        q3 = urlopen(base + "/?q=Q3").read().decode()
        groups = re.findall(r'<a class="group" href="([^"]+)">[^<]*</a></td><td class="\w+">\w+</td>'
                            r'<td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>', q3)
        # A1 and A2 one group (2 answers, A2 not yet reviewed, A1 reviewed), A3 alone (1, 1, 0)
        assert [tuple(map(int, g[1:])) for g in groups] == [(2, 1, 1), (1, 1, 0)]
        pair = urlopen(base + groups[0][0].replace("&amp;", "&")).read().decode()
        assert listed(pair) == [("Q3", "A0000002B")]                     # the group's not yet reviewed
        assert listed(urlopen(base + groups[0][0].replace("&amp;", "&") + "&reviewed=1").read().decode()) == \
            [("Q3", "A0000001A"), ("Q3", "A0000002B")]
        nav = urlopen(base + "/item/A0000001A/Q3?q=Q3").read().decode()  # reviewed: out of the list, still j/k
        assert "not in this list" in nav and 'id="next" href="/item/A0000002B/Q3?q=Q3"' in nav
    assert writes == []


# --------------------------------------------------------------------------
# the live report and `quiz1 report`


def small_class(out):
    """Four students; totals by hand (base + bonus): A11 all correct 15 + 4 = 19; A12 Q1 3 + Q3 2 (alice) = 5; A13
    Q1, Q2 6 + Q3 1 (alice) = 7; A14 Q1 3 + Q6 2 = 5, its Q3 not marked (waiting, counted 0)."""
    put(out, full("A0000011A", passed=True, **{q: "correct" for q in QS}),
        full("A0000012B", Q1="correct", Q3="unverified"),
        full("A0000013C", Q1="correct", Q2="correct", Q3="unverified"),
        full("A0000014D", Q1="correct", Q6="correct", Q3="unverified"))
    mark(out, "A0000012B", "Q3", 2)
    mark(out, "A0000013C", "Q3", 1)
    return out


def summary_of(page: str) -> tuple[str, str, str]:
    return tuple(html.unescape(re.sub(r"<[^>]+>", "", re.search(f'id="{k}">(.*?)</td>', page).group(1)))
                 for k in ("median", "mean", "pass-rate"))


def test_the_live_report_has_the_median_mean_and_pass_rate_of_the_current_marks(tmp_path):
    out = small_class(tmp_path)
    with review_server(out) as (base, writes):
        status, page, _ = get(base + "/report")
        assert status == 200
        median, mean, rate = summary_of(page)
        # totals 19, 5, 7, 5: sorted 5 5 7 19, median (5 + 7) / 2 = 6, mean 36 / 4 = 9; at the default pass mark
        # (half of 15: 7.5) only 19 passes: 1 of 4
        assert median.startswith("6 / 15 + 4") and mean.startswith("9.00 / 15 + 4")
        assert rate.startswith("25.0% (1 of 4) at a pass mark of 7.5 (the default: half the rubric's base marks")
        assert re.findall(r"class='count'>(\d+)<", page) == ["2", "1", "1"]   # bars 5-6: 2, 7-8: 1, 18-19: 1
        assert "1 submission(s) have items waiting for a human" in page and "/student/A0000014D" in page
        assert summary_of(get(base + "/report?pass=7")[1])[2].startswith("50.0% (2 of 4) at a pass mark of 7 (set by")
        assert summary_of(get(base + "/report?pass=5")[1])[2].startswith("100.0% (4 of 4)")
        for bad in ("abc", "20", "-1"):
            status, said, _ = get(base + f"/report?pass={bad}")
            assert status == 400 and "expected a number from 0 to 19" in said and len(said.splitlines()) == 1
    assert writes == []


def test_the_live_report_shows_a_report_json_that_lacks_parts_rather_than_failing(tmp_path):
    """A report of an older quiz1 or edited by hand (no "execution", no "layout") in OUTDIR: the page is served."""
    out = small_class(tmp_path)
    old = {"student_id": "A0000099Z", "zip": "A0000099Z.zip", "questions": {
        q: {"status": "correct", "found": None, "expected": None, "note": None} for q in names()}}
    (out / "A0000099Z.json").write_text(json.dumps(old))
    gradebook.record(out, "A0000099Z", old, load_rubric())
    with review_server(out) as (base, _):
        status, page, _ = get(base + "/report")
    assert status == 200 and "A0000099Z" in page, page[:300]


def test_the_class_tables_all_seven_correct_column_says_so_only_when_each_is_correct():
    """The machine's `passed` (nothing wrong, missing or in error) holds with an item a human must still decide; the
    class table's "all 7 correct" column says yes only when every question is correct."""
    from quiz1.grading.cohort.batch import report_html

    reps = [full("A0000021A", passed=True, **{q: "correct" for q in QS}),
            full("A0000022B", passed=True, **{**{q: "correct" for q in QS}, "Q4": "unverified"})]
    page = report_html(reps, [r["student_id"] for r in reps])
    rows = {sid: re.search(f"{sid}.zip</td>(.*?)</tr>", page, re.S).group(1) for sid in ("A0000021A", "A0000022B")}
    cells = {sid: re.findall(r"<td[^>]*>(.*?)</td>", row) for sid, row in rows.items()}
    assert cells["A0000021A"][8] == "yes" and cells["A0000022B"][8] == "no", cells


def test_the_live_reports_similarity_link_is_served(tmp_path):
    """/report links similarity.html: served from OUTDIR once ``quiz1 similar`` wrote it, one sentence before."""
    out = small_class(tmp_path)
    with review_server(out) as (base, writes):
        status, said, _ = get(base + "/similarity.html")
        assert status == 404 and "run quiz1 similar" in said
        (out / "similarity.html").write_text("<h1>Similar submissions</h1>")
        status, page, _ = get(base + "/similarity.html")
        assert status == 200 and "<h1>Similar submissions</h1>" in page
    assert writes == []


def test_quiz1_report_writes_the_page_and_a_missing_outdir_is_one_sentence(tmp_path, capsys):
    out = small_class(tmp_path / "g")
    (out / "report.html").write_text("old")
    assert main(["report", str(out), "--pass", "7"]) == 0
    said = capsys.readouterr().out
    page = (out / "report.html").read_text()
    assert summary_of(page)[2].startswith("50.0% (2 of 4) at a pass mark of 7")
    assert "median 6, mean 9.00 of 15 + 4; pass rate 50.0% (2 of 4) at a pass mark of 7" in said
    assert "http" not in page and "/student/" not in page and "<form" not in page   # a file: no link out of it
    elsewhere = tmp_path / "copy.html"
    assert main(["report", str(out), "--out", str(elsewhere)]) == 0
    assert summary_of(elsewhere.read_text())[2].startswith("25.0% (1 of 4) at a pass mark of 7.5")
    capsys.readouterr()
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and len(err.strip().splitlines()) == 1
    assert main(["report", str(out), "--pass", "25"]) == 2


def test_grade_says_how_many_are_fully_correct_and_how_many_need_review(tmp_path):
    out = small_class(tmp_path)
    reports = [json.loads((out / f"{s}.json").read_text()) for s in ("A0000011A", "A0000012B", "A0000013C", "A0000014D")]
    line = graded_line(reports, class_marks(out, load_rubric()), "g", 12.3)
    assert line.startswith("graded 4 submission(s) in 12 s: 1 fully correct (every question), 1 need review "
                           "(1 item(s) wait for a human: quiz1 review g)") and "passed" not in line
    renamed = {**reports[0], "passed": False, "layout": {"problems": ["the zip says A1 but the notebook says A0"],
                                                          "warnings": []}}
    assert graded_line([renamed, *reports[1:]], class_marks(out, load_rubric()), "g", 1).startswith(
        "graded 4 submission(s) in 1 s: 1 fully correct")      # a layout problem is not a wrong answer


# --------------------------------------------------------------------------
# in a browser


def name_once(page, base: str, path: str, name: str = "alice") -> None:
    page.goto(base + path)
    page.locator("#by").click()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    page.locator("h1").click()


@browser_test
def test_a_mark_made_in_the_browser_changes_the_reports_total_and_pass_rate(tmp_path):
    from playwright.sync_api import expect

    out = small_class(tmp_path)
    with review_server(out) as (base, _), chromium() as browser:
        page = browser.new_page()
        page.goto(base + "/report")
        assert page.inner_text("#pass-rate").startswith("25.0% (1 of 4)")
        assert "3 + 2 (pending)" in page.inner_text("tr:has(a[href='/student/A0000014D'])")
        name_once(page, base, "/item/A0000014D/Q3")
        page.keyboard.press("3")
        expect(page.locator("#status")).to_have_text(SAVED)
        page.goto(base + "/report")
        # A14: 3 + 3 + 2 = 8: totals 19, 5, 7, 8: median (7 + 8) / 2 = 7.5, mean 39 / 4 = 9.75, 2 of 4 at 7.5
        assert page.inner_text("#pass-rate").startswith("50.0% (2 of 4)")
        assert page.inner_text("#median").startswith("7.5") and page.inner_text("#mean").startswith("9.75")
        assert "6 + 2" in page.inner_text("tr:has(a[href='/student/A0000014D'])")
        page.fill("input[name=pass]", "9")                                # the TA's pass mark, from the page
        with page.expect_navigation():
            page.click("form[action='/report'] button")
        assert page.inner_text("#pass-rate").startswith("25.0% (1 of 4) at a pass mark of 9")


@browser_test
def test_nothing_planted_runs_on_the_student_page_and_j_resumes_where_the_ta_was(one_student, tmp_path):
    out = unverified_class(tmp_path / "class")
    with chromium() as browser:
        with review_server(one_student) as (base, _):
            page = browser.new_page()
            page.goto(base + "/student/A0000001A")
            assert page.locator("#notebook").inner_text().count("printed by question") == 7
            assert page.evaluate("window.__pwned") is None
        with review_server(out) as (base, _):
            page = browser.new_page()
            name_once(page, base, "/item/A0000003C/Q3?q=Q3")             # alice looks at A3's Q3, marks nothing
            page.goto(base + "/?q=Q3")
            assert "alice was last at Q3 A0000003C" in page.inner_text("#resume")
            with page.expect_navigation():
                page.keyboard.press("j")                                  # back where she was, not the first
            assert page.url.startswith(base + "/item/A0000003C/Q3")
            other = browser.new_context().new_page()                      # another browser, no name: the first
            other.goto(base + "/?q=Q3")
            with other.expect_navigation():
                other.keyboard.press("j")
            assert other.url.startswith(base + "/item/A0000002B/Q3")
            page.goto(base + "/item/A0000002B/Q3?q=Q3")
            page.keyboard.press("1")                                      # marked: it leaves the list
            expect_saved(page)
            page.goto(base + "/?q=Q3")
            with page.expect_navigation():
                page.keyboard.press("j")                                  # the first after it: A3
            assert page.url.startswith(base + "/item/A0000003C/Q3")
            assert item(out, "A0000002B", "Q3")["marks"] == 1


def expect_saved(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#status")).to_have_text(SAVED)
