"""The notebook as a reader sees it: HTML rendered by nbconvert, math by MathJax.

``render_html`` uses nbconvert's lab template through a short template of ours
(``templates/quiz1.html.j2``) that draws collapsed source cells as closed
``<details>``. MathJax comes from a local copy when one is installed (the
Debian ``libjs-mathjax`` package), so the page typesets its formulas with no
network; otherwise nbconvert's default CDN address is kept.
"""
from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOCAL_MATHJAX = [Path("/usr/share/javascript/mathjax/MathJax.js"),  # Debian libjs-mathjax (MathJax 2)
                 Path("/usr/share/mathjax/MathJax.js")]


def local_mathjax() -> str | None:
    """A ``file://`` address of a local MathJax 2 with nbconvert's configuration, or None."""
    for p in LOCAL_MATHJAX:
        if p.is_file():
            return f"{p.as_uri()}?config=TeX-AMS_CHTML-full,Safe"
    return None


def render_html(nb, mathjax_url: str | None = None) -> tuple[str, str]:
    """``(html, mathjax_source)``: the notebook node ``nb`` as one HTML page, and where its MathJax comes from."""
    from nbconvert import HTMLExporter

    url = mathjax_url or local_mathjax()
    exporter = HTMLExporter(template_name="lab", template_file=str(TEMPLATES / "quiz1.html.j2"))
    if url:
        exporter.mathjax_url = url
    body, _ = exporter.from_notebook_node(nb)
    return body, url or f"{exporter.mathjax_url} (CDN: needs a network connection)"
