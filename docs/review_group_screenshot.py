"""docs/review_group.png: a group page of ``quiz1 review``, on the small class of ``tests/test_groups_page.py``.

Five students' report JSONs and notebooks, recorded into a gradebook (no kernel runs); the review server on a free port;
Debian's Chromium through Playwright opens Q3's group of three students who stop at dL/ds, types the TA's name and
presses ``s`` (the item "stops at dL/ds", for the three at once), then photographs the page.

    PYTHONPATH=src python docs/review_group_screenshot.py [--png docs/review_group.png]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from quiz1.grading.web.group_review import key_token  # noqa: E402
from review_pages import chromium, review_server  # noqa: E402
from test_groups_page import group_of, make_class  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--png", default=str(ROOT / "docs" / "review_group.png"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="quiz1-group-shot-") as tmp:
        out = make_class(Path(tmp))
        token = key_token(group_of(out, "A0000001A").key)
        with review_server(out) as (base, _), chromium() as browser:
            page = browser.new_page(viewport={"width": 1500, "height": 1010})
            page.goto(f"{base}/group/Q3/{token}")
            page.locator("#by").fill("alice")
            page.keyboard.press("Enter")
            page.locator("h1").click()
            page.keyboard.press("s")
            page.wait_for_selector("#status.ok")
            page.wait_for_timeout(1500)                  # MathJax typesets the formulas
            page.screenshot(path=a.png, full_page=True)
    print(a.png)


if __name__ == "__main__":
    main()
