"""Helpers for the tests of `quiz1 review` in a browser: a hand-made class in a gradebook, the review server on a free
port (optionally slowed, counting its writes), a second local server on another port (another origin) serving a
page, Debian's Chromium through Playwright, and JSON posts to the API as the review page makes them.
"""
from __future__ import annotations

import asyncio
import http.server
import json
import re
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import nbformat

from quiz1.grading.marks import gradebook
from quiz1.grading.marks.rubric import load_rubric
from quiz1.grading.web.review import make_app

QS = ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
LONG_LINE = "loss = " + " + ".join(f"w{k} * x{k}" for k in range(400))          # about 4,500 characters
LONG_WORD = "0123456789abcdef" * 120                                          # 1,920 characters, no space


def report(sid: str, **status) -> dict:
    """A graded report as `quiz1 grade` writes it: the given statuses, the rest missing."""
    return {"zip": f"{sid}.zip", "student_id": sid, "graded": True,
            "questions": {q: {"status": status.get(q, "missing"), "found": None, "expected": None,
                              "note": "a human should read it" if status.get(q) == "unverified" else None} for q in QS}}


def make_class(out: Path, sids=("A0000001A", "A0000002B", "A0000003C")) -> Path:
    """Each student: Q1 correct (the machine's 3), Q3 and Q4 unverified (waiting for a human), the rest missing; an
    executed notebook with a Markdown answer, a very long code line and an output with a very long word."""
    rubric = load_rubric()
    for sid in sids:
        gradebook.record(out, sid, report(sid, Q1="correct", Q3="unverified", Q4="unverified"), rubric)
        code = nbformat.v4.new_code_cell(LONG_LINE, execution_count=1)
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{LONG_WORD}\n")]
        md = nbformat.v4.new_markdown_cell(f"## Question 3\n\nBy the chain rule, $\\partial L / \\partial x$ for {sid}.\n\n"
                                           f"| a | b |\n|---|---|\n| {LONG_WORD[:300]} | {LONG_WORD[:300]} |\n")
        nbformat.write(nbformat.v4.new_notebook(cells=[md, code]), out / f"{sid}.ipynb")
    return out


def item(out: Path, stem: str, question: str) -> dict:
    return next(it for it in gradebook.items(out) if it["stem"] == stem and it["question"] == question)


def slowed(app, writes: list, seconds: float):
    """ASGI wrapper: each POST is counted in ``writes`` and held ``seconds`` before the app sees it (a slow network:
    two saves sent close together are then both in flight, so a page that does not wait for the first races)."""
    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            writes.append(scope["path"])
            await asyncio.sleep(seconds)
        await app(scope, receive, send)
    return wrapped


@contextmanager
def review_server(out: Path, delay: float = 0.0):
    """The review app on a free port of 127.0.0.1; yields (base URL, list of the POSTs it received)."""
    import uvicorn

    writes: list = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    srv = uvicorn.Server(uvicorn.Config(slowed(make_app(out), writes, delay), log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", writes
    finally:
        srv.should_exit = True
        thread.join(5)
        sock.close()


@contextmanager
def other_origin(pages: dict[str, str]):
    """A plain HTTP server on another port of 127.0.0.1 (another origin) serving ``pages`` ({path: HTML})."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "not here").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def token_of(base: str) -> str:
    """The write token the review page carries (as the page's own script reads it)."""
    page = urlopen(base + "/").read().decode()
    m = re.search(r'<meta name="quiz1-token" content="([^"]+)"', page)
    return m.group(1) if m else ""


def post(base: str, body, headers: dict | None = None, raw: bytes | None = None,
         path: str = "/api/mark") -> tuple[int, dict]:
    """POST ``path`` (default /api/mark) as the review page does (JSON, its Origin, its token) unless ``headers`` say
    otherwise; (status, JSON answer)."""
    h = {"Content-Type": "application/json", "Origin": base, "X-Quiz1-Token": token_of(base), **(headers or {})}
    req = Request(base + path, method="POST", headers={k: v for k, v in h.items() if v is not None},
                  data=raw if raw is not None else json.dumps(body).encode())
    try:
        with urlopen(req) as r:
            return r.status, json.loads(r.read())
    except HTTPError as e:
        text = e.read().decode()
        return e.code, json.loads(text) if text.startswith("{") else {"error": text}


def refused_headers(base: str) -> list[tuple[dict, str]]:
    """(headers of a write, the words of its 403) for every write the review app must refuse: not JSON (a form's
    text/plain or urlencoded body), no Origin, another origin (the next port), the null origin, no token, a guessed
    token. ``base``: the app's URL."""
    port = int(base.rsplit(":", 1)[1])
    return [({"Content-Type": "text/plain"}, "must be JSON"),
            ({"Content-Type": "application/x-www-form-urlencoded"}, "must be JSON"),
            ({"Origin": None}, "must come from this review page"),
            ({"Origin": f"http://127.0.0.1:{port + 1}"}, "must come from this review page"),
            ({"Origin": "null"}, "must come from this review page"),
            ({"X-Quiz1-Token": None}, "token"), ({"X-Quiz1-Token": "guess"}, "token")]


def post_to(base: str, path: str, body, headers: dict | None = None) -> tuple[int, dict]:
    """``post`` to another write endpoint of the review page."""
    return post(base, body, headers, path=path)


@contextmanager
def chromium():
    """Debian's Chromium, headless, driven by Playwright (whose own browser download does not work here); an
    ``expect`` waits up to 30 s (not Playwright's 5 s) so a busy machine only makes a test slower, never fail."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def canvas_totals(out: Path, tmp_path: Path, canvas_export: str) -> dict:
    """SIS id -> the Quiz 1 column `quiz1 export --canvas` fills in for ``canvas_export`` (the course's gradebook
    export, as text) from ``out``'s gradebook."""
    import csv
    import io

    from quiz1.cli import main

    canvas = tmp_path / "canvas.csv"
    canvas.write_text(canvas_export)
    dest = tmp_path / "import.csv"
    assert main(["export", str(out), "--canvas", str(canvas), "--assignment", "12345", "--out", str(dest)]) == 0
    return {r["SIS User ID"]: r["Quiz 1 (12345)"] for r in csv.DictReader(io.StringIO(dest.read_text()))
            if r["SIS User ID"]}
