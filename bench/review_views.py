"""Response times of `quiz1 review`'s queue and item views for a class of N synthetic submissions (default 300).

Writes a gradebook of N submissions (Q1, Q2, Q6, Q7 marked by the machine; Q3, Q4, Q5 waiting for a human, so the
queue holds 3N items) and an executed notebook each (twelve cells: Markdown with LaTeX, code, printed outputs, a
small PNG), serves the app with uvicorn on 127.0.0.1, and times each view over real HTTP. The issue's bar: each under
200 ms.

    python bench/review_views.py [--n 300] [--repeat 20]
"""
from __future__ import annotations

import argparse
import base64
import io
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.request import urlopen


def synthetic_class(out: Path, n: int) -> None:
    import nbformat
    import numpy as np
    from PIL import Image

    from quiz1.grading.marks import gradebook
    from quiz1.grading.marks.rubric import load_rubric

    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((28, 28)) * 255).astype(np.uint8)).save(buf, format="PNG")
    png = base64.b64encode(buf.getvalue()).decode()
    rubric = load_rubric()
    status = {"Q1": "correct", "Q2": "correct", "Q3": "unverified", "Q4": "unverified", "Q5": "unverified",
              "Q6": "correct", "Q7": "wrong"}
    for k in range(n):
        sid = f"A{k:07d}X"
        rep = {"zip": f"{sid}.zip", "student_id": sid, "graded": True,
               "questions": {q: {"status": s, "found": "$$x$$", "expected": None, "note": "a human should read it"}
                             for q, s in status.items()}}
        gradebook.record(out, sid, rep, rubric)
        cells = []
        for q in range(1, 8):
            cells.append(nbformat.v4.new_markdown_cell(f"## Question {q}\n\nWe derive $\\frac{{\\partial L}}{{\\partial x_{q}}}"
                                                       f" = (\\sigma(s) - y) W_{q}$ step by step."))
            c = nbformat.v4.new_code_cell(f"import numpy as np\nx = np.arange({q})\nprint(x.sum())", execution_count=q)
            c.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{q * (q - 1) // 2}\n"),
                         nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]
            cells.append(c)
        nbformat.write(nbformat.v4.new_notebook(cells=cells), out / f"{sid}.ipynb")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    import uvicorn

    from quiz1.grading.web.review import make_app

    with tempfile.TemporaryDirectory(prefix="quiz1-review-bench-") as tmp:
        out = Path(tmp)
        t0 = time.monotonic()
        synthetic_class(out, a.n)
        print(f"{a.n} synthetic submissions written in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        srv = uvicorn.Server(uvicorn.Config(make_app(out), host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=srv.run, daemon=True).start()
        while not srv.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        views = {"queue (all that need a human)": "/", "queue, Q4 only": "/?q=Q4",
                 "item (Q3, first student)": "/item/A0000000X/Q3", f"item (Q5, student {a.n - 1})":
                 f"/item/A{a.n - 1:07d}X/Q5?q=Q5"}
        rows = []
        for name, path in views.items():
            times = []
            for _ in range(a.repeat):
                t = time.perf_counter()
                urlopen(base + path).read()
                times.append(1000 * (time.perf_counter() - t))
            rows.append((name, statistics.median(times), max(times)))
        srv.should_exit = True
    print(f"\n{'view':<34} {'median ms':>10} {'max ms':>8}")
    for name, med, worst in rows:
        print(f"{name:<34} {med:10.1f} {worst:8.1f}")
    print(f"{a.n} submissions, {3 * a.n} items waiting for a human, {a.repeat} requests a view; bar: 200 ms")


if __name__ == "__main__":
    main()
