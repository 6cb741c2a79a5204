"""The grader's self-check: one canary notebook through the exact executor (and sandbox) that will grade.

Before the first student, ``quiz1 check`` and ``quiz1 grade`` run a three-cell
notebook whose every output is known: a print, an import of numpy and torch
with a small computation, and a file written in the working folder and read
back by the grader from outside. When anything of that fails, nothing a student
wrote can be judged fairly on this machine, so grading is refused with one
sentence naming the cause and the way out (``MachineError``), instead of a
class of reports that blame the students. The same check decides, during a
class, whether a kernel that did not start is the machine's fault (the zip is
``not graded`` and retried on the next run) or that zip's.
"""
from __future__ import annotations

import secrets
import sys
import tempfile
import time
from pathlib import Path

import nbformat


class MachineError(RuntimeError):
    """The grading machine (sandbox, kernel, interpreter) failed: no verdict on any student can be given."""


def _canary(nonce: str):
    cells = [f"print('canary', {nonce!r})",
             "import numpy, torch\nprint('sum', float(torch.as_tensor(numpy.arange(4.0)).sum()))",
             f"with open('canary.txt', 'w') as f:\n    f.write({nonce!r})\nprint('wrote canary.txt')"]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def _error(cell) -> str | None:
    errs = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return f"{errs[-1].get('ename')}: {errs[-1].get('evalue')}".splitlines()[0][:200] if errs else None


def self_check(executor=None, *, timeout: float = 180) -> str | None:
    """Why this machine cannot grade, in one sentence with the way out; None when the canary comes back whole.

    ``executor``: ``run_notebook``'s signature (default: ``run_notebook`` itself, no sandbox).
    """
    from .run import run_notebook

    executor = executor or run_notebook
    where = getattr(executor, "description", "no sandbox")
    sandboxed = "bubblewrap" in where
    way_out = ("check that `bwrap` runs here, or grade with --no-sandbox (the notebooks then run with your permissions)"
               if sandboxed else f"check that {sys.executable} can start an ipykernel kernel")
    nonce = secrets.token_hex(8)
    nb = _canary(nonce)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="quiz1-canary-") as tmp:
        root = Path(tmp) / "submission"
        root.mkdir()
        log = Path(tmp) / "kernel.log"
        try:
            run = executor(nb, root, timeout=timeout, budget=timeout, progress=False, root=root, kernel_log=log)
        except Exception as e:  # noqa: BLE001 -- whatever the executor raises is the machine's failure
            return f"the grading self-check could not run a notebook ({e.__class__.__name__}: {e}); {way_out}"
        if not run.started:
            return f"the grading kernel does not start ({run.start_error}); {way_out}"
        if run.kernel_died or run.timed_out:
            return (f"the grading kernel {'died' if run.kernel_died else 'timed out'} on a three-cell canary notebook "
                    f"after {time.monotonic() - t0:.0f} s; {way_out}")
        printed, imported, wrote = nb.cells
        if nonce not in _stdout(printed):
            return f"the grading kernel's output does not come back ({_error(printed) or 'no output'}); {way_out}"
        if _error(imported) or "sum 6.0" not in _stdout(imported):
            return (f"the grading kernel cannot use numpy and torch ({_error(imported) or 'wrong output'}): install "
                    f"quiz1's dependencies into the interpreter the kernel runs ({sys.executable})")
        written = root / "canary.txt"
        if _error(wrote) or not written.is_file() or written.read_text() != nonce:
            return (f"the grading kernel cannot write into the submission's folder "
                    f"({_error(wrote) or 'the file did not arrive outside the kernel'}); {way_out}")
    return None


def preflight(executor=None) -> None:
    """``ValueError`` (one sentence) when ``self_check`` fails: the CLI refuses before grading anyone."""
    problem = self_check(executor)
    if problem:
        raise ValueError(f"grading refused, nothing was graded: {problem}")
