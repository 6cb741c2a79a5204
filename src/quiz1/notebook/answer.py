"""The highlighted answer block every question ends with.

Copied into the notebook like a solver. It emits both HTML (a green box with a
table, for Jupyter) and plain text starting ``ANSWER Qn`` (for text viewers and
for ``quiz1 check``, which looks for it in the executed outputs).
"""
# %% answer blocks
import html

from IPython.display import display


def show_answer(question, rows, note=""):
    """Display a highlighted answer block for ``question`` (e.g. "Q1") with ``rows`` {name: value}."""
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(str(k))}</th>"
        f"<td style='text-align:left;font-family:monospace'>{html.escape(str(v))}</td></tr>"
        for k, v in rows.items()
    )
    box = (
        f"<div class='quiz1-answer' id='answer-{question}' data-question='{question}' "
        "style='border:3px solid #2e7d32;background:#e8f5e9;color:#111;padding:8px 14px;margin:8px 0'>"
        f"<b>Answer {question}</b><table>{cells}</table>"
        + (f"<p>{html.escape(note)}</p>" if note else "")
        + "</div>"
    )
    text = "\n".join([f"ANSWER {question}"] + [f"  {k}: {v}" for k, v in rows.items()] + ([f"  {note}"] if note else []))
    display({"text/html": box, "text/plain": text}, raw=True)
