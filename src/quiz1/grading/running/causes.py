"""Whose error it is, and why a run stopped, in words a TA can act on.

A cell's error is the student's unless its exception shows the grading machine
lacks something the student could fairly assume (a CUDA GPU, a package, the
network). A run that stopped early says exactly why: the cell that timed out
and after how long, the budget that ran out, the kernel that died with its exit
status or signal, or the TA's Ctrl-C. Written by hand: a few regular
expressions over the traceback nbclient records.
"""
from __future__ import annotations

import re
import signal

from ..reading.values import ANSI
from ..report import CellError

MACHINE_CAUSES = [
    (re.compile(r"CUDA|NVIDIA|cudnn", re.I), "grading machine: no CUDA GPU here"),
    (re.compile(r"^(ModuleNotFoundError|ImportError)\b"), "grading machine: a package is not installed here"),
    (re.compile(r"URLError|ConnectionError|ConnectionRefused|gaierror|Name or service not known|Temporary failure in "
                r"name resolution|Network is unreachable|HTTPSConnectionPool|HTTPError|RemoteDisconnected|timed out"
                r".*connect", re.S), "grading machine: no network here"),
]


COLAB = re.compile(r"No module named '(?:google\.colab|google)'")


def whose(exception: str) -> str:
    """Whose error it is, from the exception alone (a traceback also shows the lines around it)."""
    if exception.startswith(("CellTimeoutError", "DeadKernelError", "KernelStartError")):
        return "student"
    if COLAB.search(exception):
        return "student: Colab-only code; the notebook must run unmodified from the unzipped folder"
    return next((cause for pattern, cause in MACHINE_CAUSES if pattern.search(exception)), "student")


def cell_error(nb_name: str, cell, label: str, earlier: list) -> CellError | None:
    """The cell's last error, located (``label``, the line that raised) and marked as a knock-on of an ``earlier``
    (label, source) pair that defines the name a ``NameError`` misses; None when the cell raised nothing."""
    errs = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errs:
        return None
    o = errs[-1]
    exception = f"{o.get('ename')}: {o.get('evalue')}".strip().rstrip(":")
    tb = ANSI.sub("", "\n".join(o.get("traceback", [])))
    line = None
    hits = re.findall(r"(?:Cell In\s*\[\d*\]|<ipython-input-\d+-\w+>|Input In \[\d*\]),?\s*(?:in \S+\s*)?line (\d+)", tb)
    if hits:
        lines = cell.source.splitlines()
        n = int(hits[-1])
        if 1 <= n <= len(lines):
            line = lines[n - 1].strip()
    knock = None
    m = re.match(r"NameError: name '(\w+)' is not defined", exception)
    if m:
        name = re.escape(m.group(1))
        defines = re.compile(rf"^\s*(?:{name}\s*(?:,[^=]*)?=|def {name}\b|class {name}\b|import .*\b{name}\b|from .* import .*\b{name}\b"
                             rf"|.*,\s*{name}\s*=|for {name}\b)", re.M)
        knock = next((lbl for lbl, src in reversed(earlier) if defines.search(src)), None)
    return CellError(nb_name, label, exception, line, knock, whose(exception))


SIGNAL_HINTS = {
    signal.SIGKILL: "the CPU-time cap, or the system's out-of-memory killer?",
    signal.SIGABRT: "an allocation past the memory cap, or a crash in a C library?",
    signal.SIGSEGV: "a crash in a C library",
    signal.SIGXCPU: "the CPU-time cap was reached",
    signal.SIGBUS: "a crash in a C library",
    signal.SIGXFSZ: "a file past the sandbox's size cap",
}


def death_cause(exit_code: int | None) -> str:
    """``-9`` -> "killed by SIGKILL (the CPU-time cap, or the system's out-of-memory killer?)"; ``3`` -> "exit code 3"."""
    if exit_code is None:
        return "exit status unknown"
    if exit_code >= 0:
        return f"exit code {exit_code}" + ("; the notebook's own code ended the kernel's process, os._exit?"
                                           if exit_code else "")
    try:
        sig = signal.Signals(-exit_code)
    except ValueError:
        return f"killed by signal {-exit_code}"
    hint = SIGNAL_HINTS.get(sig)
    return f"killed by {sig.name}" + (f" ({hint})" if hint else "")


def stop_reason(run, label: str | None, budget: float) -> str | None:
    """Why ``run`` (a ``RunResult``) ended before its last cell, naming the cell (``label``); None if it did not."""
    at = f" while running {label}" if label else ""
    if run.interrupted:
        return f"the grader was interrupted (Ctrl-C){at}"
    if run.kernel_died:
        return f"the kernel died{at} ({death_cause(run.exit_code)})"
    if run.budget_ran_out:
        return f"the run's budget of {budget:g} s for the whole submission ran out" + (
            f" (the cells from {label} on did not run)" if label else "")
    return None
