"""docs/review_student.png, the TA guide's picture of `quiz1 review`'s student page: a class of three written by hand
(the gradebook, the reports' JSON and an executed notebook, as `quiz1 grade` leaves them; nothing is graded), a TA's
mark with two rubric items and a comment, and the page photographed by headless Chromium (Playwright, Debian's
chromium) once MathJax is done.

    PYTHONPATH=src python docs/review_student_screenshot.py docs/review_student.png
"""
from __future__ import annotations

import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from quiz1.grading.marks import gradebook
from quiz1.grading.marks.rubric import load_rubric
from quiz1.grading.web.review import make_app

QS = ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7")
SID = "A0123456X"
EVIDENCE = {   # question: (status, found, expected, note), as a report's JSON holds them
    "Q1": ("correct", "mean 1.386294, total 5.545177", None, None),
    "Q2": ("correct", "torch.cat((x * y, x + 5, y - 5)) at (4, 5, 6): 20, 9, 1", None, None),
    "Q3": ("unverified", "dL/ds = \\sigma(s) - y", None, "the derivation stops at dL/ds: a human should decide"),
    "Q4": ("correct", "Q1Q4I1.txt: exact (d = 2), Q1Q4I2.npz: exact, Q1Q4I3.npz: MSE 0.0031 under PCA's 0.0410", None,
           None),
    "Q5": ("wrong", "RMSE 0.3120 of the range on the unpaired sets", "RMSE under 0.0500", "the MLP does not follow f"),
    "Q6": ("correct", "I0_adv.png read as 1 (L2 2.09), I1_adv.png read as 7 (L2 2.45)", None, None),
    "Q7": ("missing", None, None, "no section for Q7 was found"),
}
CELLS = {
    1: ("The loss of each sample is $\\ell_i = -\\log \\mathrm{softmax}(z_i)_{y_i}$, computed stably by subtracting "
        "$\\max_j z_{ij}$ first.", "z = logits - logits.max(1, keepdims=True)\nloss = -(z[range(n), y] - "
        "np.log(np.exp(z).sum(1)))\nprint(loss.mean(), loss.sum())", "1.386294 5.545177\n"),
    2: ("Figure 1 is `torch.cat` of a product, a sum and a difference.", "out = torch.cat((x * y, x + 5, y - 5))\n"
        "print(out)", "tensor([20.,  9.,  1.])\n"),
    3: ("By the chain rule, $\\frac{\\partial L}{\\partial s} = \\sigma(s) - y$, and from there "
        "$\\frac{\\partial L}{\\partial x}$ follows through $W_2$ and $W_1$.", None, None),
    4: ("A linear encoder is exact when the points lie in a $d$-dimensional subspace.", "enc, dec = fit(points, d=2)\n"
        "print(mse(points, dec(enc(points))))", "0.0031\n"),
    5: ("An MLP with one hidden layer of 16 ReLUs.", "model = train(xy, ab, hidden=16)\nprint(rmse(model))", "0.3120\n"),
    6: ("A targeted attack, projected onto $\\|\\delta\\|_2 \\le \\epsilon$ and rounded to 8 bits.",
        "adv = attack(I0, target=1)\nprint(model(adv).argmax())", "tensor(1)\n"),
}


def write_class(out: Path) -> None:
    rubric = load_rubric()
    for sid, statuses in ((SID, {q: e[0] for q, e in EVIDENCE.items()}),
                          ("A0000001B", {"Q1": "correct", "Q3": "unverified"}), ("A0000002C", {"Q3": "unverified"})):
        qs = {q: {"status": statuses.get(q, "missing"), "found": None, "expected": None, "note": None} for q in QS}
        if sid == SID:
            qs = {q: dict(zip(("status", "found", "expected", "note"), e)) for q, e in EVIDENCE.items()}
        rep = {"zip": f"{sid}.zip", "student_id": sid, "graded": True, "passed": False, "questions": qs,
               "layout": {"problems": [], "warnings": []},
               "execution": {"seconds": 41.0, "timed_out": False, "kernel_died": False, "interrupted": False,
                             "stop_reason": "", "errors": []}}
        gradebook.record(out, sid, rep, rubric)
        (out / f"{sid}.json").write_text(json.dumps(rep))
    it = next(i for i in gradebook.items(out) if i["stem"] == SID and i["question"] == "Q3")
    gradebook.apply_items(out, SID, "Q3", ["stops-at-ds"], 0.5, "You reach dL/ds correctly; carry it through W2 and "
                          "the ReLU to dL/dx for the rest.", "alice", it["version"])
    cells = []
    for n in range(1, 8):
        md, code, printed = CELLS.get(n, ("", None, None))
        cells.append(nbformat.v4.new_markdown_cell(f"## Question {n}\n\n{md}"))
        if code:
            c = nbformat.v4.new_code_cell(code, execution_count=n)
            c.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
            cells.append(c)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), out / f"{SID}.ipynb")


def main(png: Path) -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="quiz1-student-") as tmp:
        out = Path(tmp)
        write_class(out)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        srv = uvicorn.Server(uvicorn.Config(make_app(out), log_level="warning"))
        threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True).start()
        while not srv.started:
            time.sleep(0.05)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                            args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1100, "height": 1900})
                page.goto(f"http://127.0.0.1:{sock.getsockname()[1]}/student/{SID}")
                page.wait_for_timeout(3000)                                   # MathJax typesets the notebook
                page.screenshot(path=str(png))
                browser.close()
        finally:
            srv.should_exit = True
    print(f"wrote {png}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/review_student.png"))
