"""docs/q1.png, the README's picture: Question 1 of a built notebook, rendered as `quiz1 build` renders it and
photographed by headless Chromium once MathJax is done.

    python docs/q1_screenshot.py dist/A0000000X.zip docs/q1.png
"""
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

from quiz1.notebook.render import render_html

zip_path, png = Path(sys.argv[1]), Path(sys.argv[2])
with zipfile.ZipFile(zip_path) as zf:
    name = next(n for n in zf.namelist() if n.endswith(".ipynb"))
    nb = nbformat.reads(zf.read(name).decode(), as_version=4)
heads = [i for i, c in enumerate(nb.cells) if c.metadata.get("quiz1", {}).get("question") in ("Q1", "Q2")]
nb.cells = nb.cells[heads[0]:heads[1]]
with tempfile.TemporaryDirectory() as tmp:
    page = Path(tmp) / "q1.html"
    page.write_text(render_html(nb)[0], encoding="utf-8")
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--allow-file-access-from-files", "--virtual-time-budget=20000", "--window-size=1000,2150",
                    f"--screenshot={png.resolve()}", page.as_uri()], check=True, capture_output=True)
print(f"wrote {png}")
