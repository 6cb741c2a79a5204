"""`quiz1 review`: the TA's marking page, driven in a real browser (Playwright for Python on Debian's Chromium:
the Python API fits pytest and drives the system browser through `executable_path`; Playwright's own browser
download does not work here).

Three students' Q3s wait for a human; one notebook plants script in its Markdown, an `onerror=` image, a
`javascript:` link, an HTML output and an SVG output with script. Expected: three marks set with the keyboard and kept
after a reload, a stale save from a second browser refused, and nothing planted ever runs.
"""
import json
import re
import shutil
import socket
import threading
import time
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import nbformat
import pytest

from quiz1.grading.marks import gradebook
from quiz1.grading.marks.rubric import load_rubric
from quiz1.grading.web.review import make_app

PLANTED = ('## Question 3\n\nThe gradient $\\frac{\\partial L}{\\partial x} = W_1 (\\sigma(s) - y)$.\n\n'
           '<script>window.__pwned = "markdown script"</script>\n'
           '<img src="x" onerror="window.__pwned = \'onerror\'">\n\n'
           '[click me](javascript:window.__pwned=\'link\')\n')
SAVED = re.compile(r"^saved")
SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>window.__pwned = "svg"</script><circle r="4"/></svg>'


def report(sid):
    qs = {q: {"status": "missing", "found": None, "expected": None, "note": None} for q in
          ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7")}
    qs["Q3"] = {"status": "unverified", "found": "$$\\nabla_x L$$", "expected": None, "note": "a human should read it"}
    return {"zip": f"{sid}.zip", "student_id": sid, "graded": True, "questions": qs}


@pytest.fixture
def outdir(tmp_path):
    rubric = load_rubric()
    for sid in ("A0000001A", "A0000002B", "A0000003C"):
        gradebook.record(tmp_path, sid, report(sid), rubric)
        code = nbformat.v4.new_code_cell("from IPython.display import HTML, SVG\nHTML(...)", execution_count=1)
        code.outputs = [nbformat.v4.new_output("display_data", data={
                            "text/html": "<b onclick=\"window.__pwned='html'\">bold</b><script>window.__pwned='html'</script>",
                            "text/plain": "<IPython.core.display.HTML object>"}),
                        nbformat.v4.new_output("display_data", data={"image/svg+xml": SVG, "text/plain": "<SVG>"}),
                        nbformat.v4.new_output("stream", name="stdout", text="dL/dx at the test point: 0.1234\n")]
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(PLANTED), code])
        nbformat.write(nb, tmp_path / f"{sid}.ipynb")
    return tmp_path


def test_a_students_markup_is_sanitised_on_the_server(server):
    page = urlopen(server + "/item/A0000001A/Q3").read().decode()
    assert "dL/dx at the test point: 0.1234" in page and "\\frac{\\partial L}" in page    # the work is shown
    for planted in ("<script>window", "onerror=", "onclick=", "href=\"javascript", "href='javascript"):
        assert planted not in page, planted
    with urlopen(server + "/") as r:
        queue = r.read().decode()
        assert "0 of 3 reviewed" in queue
        assert "script-src 'self' 'nonce-" in r.headers["Content-Security-Policy"]
    token = re.search(r'name="quiz1-token" content="([^"]+)"', queue).group(1)   # a write is the page's own
    bad = Request(server + "/api/mark", method="POST",
                  headers={"Content-Type": "application/json", "Origin": server, "X-Quiz1-Token": token},
                  data=json.dumps({"stem": "A0000001A", "question": "Q3", "marks": 9, "by": "alice", "version": 1}).encode())
    with pytest.raises(HTTPError) as e:
        urlopen(bad)
    assert e.value.code == 400 and "expected 0 to 3" in json.loads(e.value.read())["error"]


@pytest.fixture
def server(outdir):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(make_app(outdir), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_marking_three_items_with_the_keyboard_in_a_real_browser(server, outdir):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        dialogs = []
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server + "/?q=Q3")
        assert "0 of 3 reviewed" in page.inner_text("#progress")
        with page.expect_navigation():
            page.keyboard.press("j")                                          # the first item
        page.fill("#by", "alice")
        page.locator("#by").blur()
        for mark in ("2", "1", "3"):
            page.keyboard.press(mark)                                         # set and saved at once
            expect(page.locator("#status")).to_have_text(SAVED)
            assert page.evaluate("window.__pwned") is None
            if mark != "3":
                with page.expect_navigation():
                    page.keyboard.press("j")
        page.reload()
        assert page.input_value("#marks") == "3"                              # kept after a reload
        page.goto(server + "/?q=Q3")
        assert "3 of 3 reviewed" in page.inner_text("#progress")
        got = {it["stem"]: (it["marks"], it["marked_by"]) for it in gradebook.items(outdir) if it["question"] == "Q3"}
        assert got == {"A0000001A": (2, "alice"), "A0000002B": (1, "alice"), "A0000003C": (3, "alice")}

        other = browser.new_context().new_page()                              # a second TA, another browser
        other.goto(server + "/item/A0000001A/Q3")
        page.goto(server + "/item/A0000001A/Q3")
        page.keyboard.press("0")                                              # alice changes it first
        expect(page.locator("#status")).to_have_text(SAVED)
        other.fill("#by", "bob")
        other.locator("#by").blur()
        other.keyboard.press("3")                                             # bob's page is stale
        expect(other.locator("#status")).to_have_class("bad")     # (the page's CSP allows no eval: locators only)
        assert "changed since you opened it" in other.inner_text("#status")
        assert next(it for it in gradebook.items(outdir) if it["stem"] == "A0000001A" and it["question"] == "Q3")[
            "marks"] == 0                                                     # alice's mark, not overwritten
        assert dialogs == [] and page.evaluate("window.__pwned") is None and other.evaluate("window.__pwned") is None
        browser.close()
