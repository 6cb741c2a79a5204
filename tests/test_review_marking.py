"""The review page marks as a TA means them (issue 34, items 2-4, 6, 7 and 16), in Debian's Chromium via Playwright.

Each test is a TA's sequence of keys on a hand-made class (tests/review_pages.py) and compares the gradebook with
what the TA meant: the name asked before any key marks; `1` then `3` ends at 3 in the field and the gradebook; `c`
then Esc, or opening and leaving an item, writes nothing; a typed 1.5 is saved by Enter or Tab and unsaved input
warns before the page is left; "abc" is said to be no mark; `c` puts the cursor after an existing comment. The
server holds each save 0.3 s (`review_server(delay=...)`), as a slow network would, so that two saves sent close
together are both in flight: the page must wait for the first, not race it.
"""
import re
import shutil
import socket
import threading
import time

import pytest

from quiz1.cli import main
from quiz1.grading.marks import gradebook
from review_pages import chromium, item, make_class, review_server

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
SLOW = 0.3   # seconds the server holds each save


def named(page, base: str, path: str, name: str = "alice"):
    """Open ``path`` with ``name`` typed once in the name field (Enter, then a click on the title: no field has the
    focus), as a TA does on the first item."""
    page.goto(base + path)
    page.locator("#by").click()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    page.locator("h1").click()


def test_the_name_is_asked_before_any_key_marks_and_a_digit_never_lands_in_it(tmp_path):
    from playwright.sync_api import expect

    out = make_class(tmp_path)
    with review_server(out) as (base, writes), chromium() as browser:
        page = browser.new_context().new_page()                              # a fresh browser: no name kept
        page.goto(base + "/item/A0000001A/Q3")
        expect(page.locator("#status")).to_have_class("bad")                 # asked at once
        page.keyboard.press("2")
        assert page.input_value("#by") == "" and page.evaluate("document.activeElement.id") == "by"
        assert writes == []                                                  # nothing marked without a name
        page.keyboard.type("TA Alice")
        page.keyboard.press("Enter")
        page.keyboard.press("2")
        expect(page.locator("#status")).to_have_text("saved: 2 by TA Alice")
        page.goto(base + "/item/A0000002B/Q3")                               # asked once: kept in the browser
        page.keyboard.press("1")
        expect(page.locator("#status")).to_have_text("saved: 1 by TA Alice")
    got = {it["stem"]: (it["marks"], it["marked_by"]) for it in gradebook.items(out) if it["question"] == "Q3"}
    assert got == {"A0000001A": (2, "TA Alice"), "A0000002B": (1, "TA Alice"), "A0000003C": (None, None)}


def test_one_save_at_a_time_a_later_key_replaces_never_races(tmp_path):
    from playwright.sync_api import expect

    out = make_class(tmp_path)
    with review_server(out, delay=SLOW) as (base, writes), chromium() as browser:
        page = browser.new_page()
        named(page, base, "/item/A0000001A/Q3")
        page.keyboard.press("1")
        page.keyboard.press("3")                                             # while the save of 1 is in flight
        expect(page.locator("#status")).to_have_text("saved: 3 by alice")
        assert page.input_value("#marks") == "3" and item(out, "A0000001A", "Q3")["marks"] == 3
        page.keyboard.press("c")                                             # comment, Ctrl-Enter, then Esc
        page.keyboard.type("sign slip in dL/ds")
        page.keyboard.press("Control+Enter")
        page.keyboard.press("Escape")
        expect(page.locator("#status")).to_have_text("saved: 3 by alice")
        page.wait_for_timeout(3 * SLOW * 1000)                               # (a second save would land by now)
        assert page.get_attribute("#status", "class") == "ok"
        it = item(out, "A0000001A", "Q3")
        assert (it["marks"], it["marked_by"], it["comment"]) == (3, "alice", "sign slip in dL/ds")
        assert len(writes) == 3                                              # 1, 3, the comment: no more


def test_opening_viewing_or_cancelling_writes_nothing(tmp_path):
    from playwright.sync_api import expect

    out = make_class(tmp_path)
    before = {(it["stem"], it["question"]): (it["version"], it["marked_by"]) for it in gradebook.items(out)}
    with review_server(out) as (base, writes), chromium() as browser:
        page = browser.new_page()
        named(page, base, "/item/A0000001A/Q1?all=1")                        # the machine's 3: viewed, not marked
        page.keyboard.press("c")
        page.keyboard.press("Escape")                                        # cancel: no edit
        page.wait_for_timeout(500)
        with page.expect_navigation():
            page.keyboard.press("j")
        with page.expect_navigation():
            page.keyboard.press("k")
        page.locator("#comment").click()                                     # into the comment and out by the mouse
        page.locator("h1").click()
        page.wait_for_timeout(500)
        page.goto(base + "/?q=Q3")
        with page.expect_navigation():
            page.keyboard.press("j")
        page.keyboard.press("c")
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
        assert writes == []
        after = {(it["stem"], it["question"]): (it["version"], it["marked_by"]) for it in gradebook.items(out)}
        assert after == before and after["A0000001A", "Q1"][1] == "machine"  # still the machine's: re-grades update it
        page.goto(base + "/item/A0000001A/Q1?all=1")
        page.keyboard.press("3")                                             # the machine's 3, now the TA's decision
        expect(page.locator("#status")).to_have_text("saved: 3 by alice")
    assert item(out, "A0000001A", "Q1")["marked_by"] == "alice" and len(writes) == 1


def test_a_typed_mark_is_saved_by_enter_or_on_leaving_and_unsaved_input_warns(tmp_path):
    from playwright.sync_api import expect

    out = make_class(tmp_path)
    with review_server(out) as (base, writes), chromium() as browser:
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.type), d.accept()))
        named(page, base, "/item/A0000001A/Q3")
        page.locator("#marks").click()
        page.keyboard.type("1.5")
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_have_text("saved: 1.5 by alice")
        page.goto(base + "/item/A0000002B/Q3")
        page.locator("#marks").click()
        page.keyboard.type("2.5")
        page.keyboard.press("Tab")                                           # leaving the field saves it
        expect(page.locator("#status")).to_have_text("saved: 2.5 by alice")
        assert dialogs == []                                                 # saved input: no warning
        page.goto(base + "/item/A0000003C/Q3")
        page.locator("#marks").click()
        page.keyboard.type("0.5")                                            # neither Enter nor Tab
        page.goto(base + "/")                                                # leaving the page asks first
        assert dialogs == ["beforeunload"]
    got = {it["stem"]: it["marks"] for it in gradebook.items(out) if it["question"] == "Q3"}
    assert got["A0000001A"] == 1.5 and got["A0000002B"] == 2.5


def test_a_mark_that_is_not_a_number_is_said_and_c_puts_the_cursor_after_the_comment(tmp_path):
    from playwright.sync_api import expect

    out = make_class(tmp_path)
    v = item(out, "A0000001A", "Q3")["version"]
    gradebook.set_mark(out, "A0000001A", "Q3", 2, "bob", v, "right up to the sign")
    with review_server(out) as (base, writes), chromium() as browser:
        page = browser.new_page()
        named(page, base, "/item/A0000002B/Q3")
        page.locator("#marks").click()
        page.keyboard.type("abc")
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_have_text(re.compile(r'^"abc" is not a mark: type a number from 0 to 3'))
        page.keyboard.press("Control+a")
        page.keyboard.type("4")
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_have_text(re.compile(r"^4 is more than this question's 3 mark"))
        assert writes == []
        page.goto(base + "/item/A0000001A/Q3")
        page.keyboard.press("c")
        end = len("right up to the sign")
        assert page.locator("#comment").evaluate("el => [el.selectionStart, el.selectionEnd]") == [end, end]
        page.keyboard.type("; dL/ds has the wrong sign")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#status")).to_have_text("saved: 2 by alice")
    assert item(out, "A0000001A", "Q3")["comment"] == "right up to the sign; dL/ds has the wrong sign"


def test_long_code_lines_scroll_in_their_box_not_the_page(tmp_path):
    out = make_class(tmp_path)
    with review_server(out) as (base, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/item/A0000001A/Q3")
        assert "w399 * x399" in page.inner_text(".code pre:not(.out)")                # the whole line is there
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, width                                          # 1280 px wide, as the window
        assert page.locator(".code pre:not(.out)").evaluate("el => el.scrollWidth > el.clientWidth")   # it scrolls inside


def test_review_says_when_its_port_is_taken_before_printing_a_url(tmp_path, capsys):
    out = make_class(tmp_path, sids=("A0000001A",))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["review", str(out), "--port", str(port)]) == 2
    said = capsys.readouterr()
    assert "http://" not in said.out and f"127.0.0.1:{port}" in said.err and "--port" in said.err
    assert len(said.err.strip().splitlines()) == 1


def test_report_html_links_to_no_guessed_port(tmp_path):
    """report.html is written by `grade`, when no review server runs: it names the items that wait, with no link to
    a port it cannot know (the review page lists them, with links, on the port `review` printed)."""
    from quiz1.grading.cohort.batch import marks_summary, report_html
    from quiz1.grading.marks.rubric import load_rubric

    out = make_class(tmp_path, sids=("A0000001A",))
    page = report_html([], [], marks_summary(out, load_rubric()))
    assert "A0000001A Q3" in page and "quiz1 review" in page and "127.0.0.1:8000" not in page


def test_build_says_it_waits_on_another_processs_model_cache_lock(tmp_path, capsys):
    import fcntl

    from quiz1.data.standin_model import wait_for_lock

    path = tmp_path / "standin-x.lock"
    holder = open(path, "w")                                                 # another process training the model
    fcntl.flock(holder, fcntl.LOCK_EX)
    done = threading.Event()
    with open(path, "w") as mine:
        t = threading.Thread(target=lambda: (wait_for_lock(mine), done.set()))
        t.start()
        for _ in range(600):                                                 # up to 30 s on a busy machine
            if "waiting for another process" in capsys.readouterr().err:
                break
            time.sleep(0.05)
        else:
            pytest.fail("no word while waiting on the lock")
        assert not done.is_set()                                             # it waits ...
        holder.close()                                                       # ... until the other one is done
        t.join(30)
        assert done.is_set()
    with open(path, "w") as free:
        wait_for_lock(free)                                                  # a free lock: taken without a word
    assert capsys.readouterr().err == ""
