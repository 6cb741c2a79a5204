"""quiz1's own build on the real data (``real_build`` in conftest, made once): graded as a student's would be, and
looked at as its reader sees it, nbconvert's HTML in headless Chromium after MathJax has run.

One module, so pytest-xdist (``--dist loadfile``) keeps every user of the build on one worker. The DOM tests read
what Chromium dumps, not the notebook JSON: a Markdown cell indented into a code block, a formula MathJax could
not parse, or a table of contents pointing nowhere all fail here.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from quiz1.cli import main
from test_submission import _answers, _layout, _no_builder_paths

bs4 = pytest.importorskip("bs4")
pytestmark = pytest.mark.slow  # the session's real-data build: conftest schedules this file first


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        pytest.skip("no Chromium on this machine (Debian package `chromium`; `make test` installs it when run as root)")
    return exe


@pytest.fixture(scope="module")
def dom(real_build):
    """The rendered page's DOM after MathJax (virtual time lets its typesetting finish before the dump)."""
    html = real_build / "A0123456X.html"
    out = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                          "--virtual-time-budget=30000", "--dump-dom", html.as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and "<html" in out.stdout, out.stderr[-2000:]
    return bs4.BeautifulSoup(out.stdout, "html.parser")


def _text_outside_math(el) -> str:
    for s in el.find_all(["script", "style"]):
        s.extract()
    return el.get_text(" ")


def test_title_is_an_h1_and_no_markdown_cell_is_a_code_block(dom):
    cells = dom.select(".jp-Cell")
    first = cells[0]
    assert "jp-MarkdownCell" in first["class"]
    assert first.find(re.compile("^h[1-6]$")).name == "h1"
    assert first.find("h1").get_text().startswith("CS5242 (Aug 2023) Quiz 1 — A0123456X")
    md = dom.select(".jp-MarkdownCell")
    assert len(md) > 20
    blocks = [c.get_text()[:80] for c in md if c.find("pre")]
    assert not blocks, f"Markdown cells rendered as preformatted blocks: {blocks}"


def test_seven_question_headings_and_a_contents_list_that_resolves(dom):
    heads = [h.get_text(" ", strip=True) for h in dom.find_all("h2")]
    numbers = [int(m.group(1)) for h in heads if (m := re.match(r"Question (\d) —", h))]
    assert numbers == [1, 2, 3, 4, 5, 6, 7], heads
    links = [a["href"][1:] for a in dom.select(".jp-Cell")[0].select('li a[href^="#"]')]
    assert len(links) == 14  # each question and its answer
    missing = [x for x in links if dom.find(id=x) is None]
    assert not missing, f"contents links to nothing: {missing}"


def test_every_formula_is_typeset(dom):
    typeset = dom.select(".MathJax_CHTML, .MathJax, mjx-container")
    assert len(typeset) > 100, "MathJax did not typeset the page (local copy missing, or it did not finish)"
    errors = dom.select(".MathJax_Error, merror, mjx-merror, [data-mjx-error]")
    assert not errors, [e.get_text()[:80] for e in errors]
    for cell in dom.select(".jp-MarkdownCell"):
        text = _text_outside_math(cell)
        assert "$$" not in text and not re.search(r"\$\\[a-zA-Z]", text), text[:300]


def test_seven_answer_boxes_and_collapsed_solver_code(dom):
    boxes = dom.select("div.quiz1-answer")
    assert [b["id"] for b in boxes] == [f"answer-Q{q}" for q in range(1, 8)]
    assert all(b.get_text().startswith(f"Answer Q{q}") for q, b in zip(range(1, 8), boxes))
    hidden = dom.select("details.quiz1-hidden-source")
    assert len(hidden) > 20 and not any(d.has_attr("open") for d in hidden)
    sources = [d.summary.get_text() for d in hidden]
    assert all(s.startswith(("# source: quiz1/", "# the values this notebook was built with")) for s in sources), sources


def test_build_real_data_and_grade_it(real_build, tmp_path, quiz_data, mnist_dir, capsys):
    """quiz1's own build on the real data, graded in the sandbox as a student's would be, against the TA's copy of the
    quiz data and with the variant run: every question correct (Q6 by the stand-in model in the zip; Q3 read from its
    LaTeX, Q4's exact charts and Q5's MLP run on the TA's data); its Q1 answers against numpy; no builder paths."""
    z = real_build / "A0123456X.zip"
    assert (real_build / "A0123456X.html").is_file()  # beside the zip, not in it
    assert "A0123456X.html" not in _layout(z)
    assert main(["check", str(z), "--data", str(quiz_data), "--quiet", "--json"]) == 0   # the TA's own data
    rep = json.loads(capsys.readouterr().out)
    assert "variant run on changed Q_1/data.txt" in rep["graded_on"], rep["graded_on"]
    assert "followed the data" in rep["questions"]["Q1"]["note"] and "followed the data" in rep["questions"]["Q6"]["note"]
    assert rep["caveats"] == ["Q6 judged by the zip's own Q_6/model.pth (no --model)"]   # the stand-in M it ships
    got = {q: v["status"] for q, v in rep["questions"].items()}
    assert got == {"Q1": "correct", "Q2": "correct", "Q3": "correct", "Q4": "correct", "Q5": "correct",
                   "Q6": "correct", "Q7": "correct"}, rep
    q4 = rep["questions"]["Q4"]["found"]       # exact on points the grader drew from each file's manifold
    assert q4.count("(exact)") == 3 and q4.count("new points of its manifold") == 3, q4
    assert rep["passed"] and rep["student_id"] == "A0123456X" and rep["layout"] == {"problems": [], "warnings": []}
    assert "bubblewrap" in rep["sandbox"]
    _no_builder_paths(z, mnist_dir.resolve(), quiz_data.resolve(), Path.home())
    with zipfile.ZipFile(z) as zf:
        zf.extractall(tmp_path / "x")
    text = _answers(tmp_path / "x" / "A0123456X.ipynb")
    mean = float(re.search(r"mean cross-entropy loss over the samples: ([0-9.]+)", text).group(1))
    total = float(re.search(r"total \(sum\) cross-entropy loss: ([0-9.]+)", text).group(1))
    z_ = np.loadtxt(quiz_data / "Q1" / "data.txt")
    y = np.loadtxt(quiz_data / "Q1" / "labels.txt")
    m = z_.max(1)
    ref = m + np.log(np.exp(z_ - m[:, None]).sum(1)) - z_[np.arange(len(m)), y.argmax(1)]
    assert_allclose(mean, ref.mean(), rtol=1e-12)
    assert_allclose(total, ref.sum(), rtol=1e-12)
