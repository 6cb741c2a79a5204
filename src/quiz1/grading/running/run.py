"""Run a notebook nobody vouches for (a student's), cell by cell, and always say how the run ended.

``run_notebook`` is the executor the grader uses: nbclient in the grader's
process, one fresh kernel, a per-cell timeout and a budget for the whole run.
A timeout, a kernel that dies or never starts, or Ctrl-C end the run early but
never raise: the ``RunResult`` says which, where, and with what exit status, so
the report can name the cause instead of guessing. Any function with its
signature can replace it (``sandbox.sandboxed_executor`` runs the same function
with the kernel inside bubblewrap).
"""
from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from tqdm.auto import tqdm

from .causes import death_cause


@dataclass(frozen=True)
class RunResult:
    """How a ``run_notebook`` call ended. ``stopped_at``: index of the first cell not run to its end, or None."""

    seconds: float
    timed_out: bool              # a cell ran past its timeout, or the whole budget ran out
    kernel_died: bool
    interrupted: bool            # Ctrl-C in the grader
    stopped_at: int | None
    timeouts: tuple = ()         # indices of cells that ran past their timeout
    started: bool = True         # False: the kernel never answered (the grading machine's failure, not the notebook's)
    start_error: str | None = None   # why it did not start, with the kernel's last log line when there is one
    exit_code: int | None = None     # the dead kernel's exit status (negative: killed by that signal), when known
    budget_ran_out: bool = False     # the whole run's budget, not one cell's timeout, ended the run


_QUIET = logging.getLogger("quiz1.untrusted-run")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def _error_output(ename: str, evalue: str) -> dict:
    import nbformat

    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _exit_code(client) -> int | None:
    """The kernel process's exit status, if it has ended (a sandbox reports a signal ``s`` as ``128 + s``)."""
    proc = getattr(getattr(getattr(client, "km", None), "provisioner", None), "process", None)
    if proc is None:
        return None
    for _ in range(20):  # nbclient saw the death; the process may take a moment to be reaped
        code = proc.poll()
        if code is not None:
            return -(code - 128) if 128 < code < 160 else code
        time.sleep(0.05)
    return None


def _last_line(log: Path | None) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()] if log else []
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def run_notebook(nb, cwd: str | Path, *, timeout: float = 600, budget: float = 1800, progress: bool = True,
                 kernel_name: str = "python3", startup_timeout: float = 120, km=None, root=None,
                 kernel_log: str | Path | None = None) -> RunResult:
    """Run the code cells of an untrusted ``nb`` (in place, errors allowed) with ``cwd`` as the working folder.

    Each cell gets ``min(timeout, what is left of budget)`` seconds; a cell past it is interrupted, gets an error
    output ``CellTimeoutError``, and the run goes on with the next cell while budget remains. A dead kernel or
    Ctrl-C stops the run; the cells not reached keep no outputs and no execution count. ``km``: a kernel manager
    to use (a sandboxed one); ``root``: the submission's folder, unused here (a sandboxed executor makes it
    writable); ``kernel_log``: a file for the kernel's own stderr (default: discarded).
    """
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for i in code:
        nb.cells[i].outputs, nb.cells[i].execution_count = [], None
    # on a timeout nbclient interrupts the kernel and stops listening to that cell (error_on_timeout); raising
    # CellTimeoutError instead would leave its output reader running, and it would swallow the next cells' outputs
    client = NotebookClient(nb, km=km, timeout=int(timeout), kernel_name=kernel_name, allow_errors=True,
                            startup_timeout=int(startup_timeout), resources={"metadata": {"path": str(cwd)}},
                            interrupt_on_timeout=True,
                            error_on_timeout={"ename": "CellTimeoutError", "evalue": "timed out", "traceback": []},
                            log=_QUIET)  # timeouts and deaths are reported in the result, not logged
    t0 = time.monotonic()
    timeouts, timed_out, died, interrupted, stopped = [], False, False, False, None
    started, start_error, exit_code, budget_out = False, None, None, False
    bar = tqdm(total=len(code), desc="running notebook", unit="cell", disable=not progress, leave=False)
    log = open(kernel_log, "wb") if kernel_log is not None else subprocess.DEVNULL  # noqa: SIM115 -- closed below
    try:
        with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=log):  # kernel log lines: noise unless asked for
            started = True
            for i in code:
                left = budget - (time.monotonic() - t0)
                if left < 1:
                    timed_out, budget_out, stopped = True, True, i
                    break
                client.timeout = max(1, int(min(timeout, left)))
                started_cell = time.monotonic()
                try:
                    # quiz1's own cells (probes) take no execution count: the student's In [n] stay theirs
                    client.execute_cell(nb.cells[i], i, store_history=not nb.cells[i].metadata.get("quiz1_probe"))
                except DeadKernelError:
                    died, stopped, exit_code = True, i, _exit_code(client)
                    nb.cells[i].outputs.append(_error_output(
                        "DeadKernelError", f"the kernel died while running this cell ({death_cause(exit_code)})"))
                    break
                if time.monotonic() - started_cell >= client.timeout:
                    timeouts.append(i)
                    timed_out = True
                    budget_out = client.timeout < timeout
                    nb.cells[i].outputs.append(_error_output("CellTimeoutError", (
                        f"the run's budget ran out during this cell ({client.timeout} s were left); it was interrupted"
                        if budget_out else f"the cell ran past its timeout of {client.timeout} s and was interrupted")))
                bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
        stopped = stopped if stopped is not None else next((i for i in code if nb.cells[i].execution_count is None), None)
    except DeadKernelError:  # died between cells, or while shutting down
        died = True
        exit_code = exit_code if exit_code is not None else _exit_code(client)
    except RuntimeError as e:  # the kernel never started (or, once started, stopped answering)
        died = True
        if started:
            exit_code = _exit_code(client)
            stopped = next((i for i in code if nb.cells[i].execution_count is None), None)
            return RunResult(time.monotonic() - t0, timed_out, died, interrupted, stopped, tuple(timeouts), True,
                             None, exit_code, budget_out)
        stopped = code[0] if code else None
        why = _last_line(Path(kernel_log) if kernel_log is not None else None)
        start_error = (str(e).splitlines() or ["no message"])[0] + (f" (the kernel's last words: {why})" if why else "")
    finally:
        bar.close()
        if log is not subprocess.DEVNULL:
            log.close()
    return RunResult(time.monotonic() - t0, timed_out, died, interrupted, stopped, tuple(timeouts), started,
                     start_error, exit_code, budget_out)


def plain_executor(python: str):
    """``run_notebook`` with the kernel started by ``python`` (a course's environment), without a sandbox."""
    from .interpreter import InterpreterKernelManager, interpreter

    interp = interpreter(python)

    def run(nb, cwd, *, timeout, budget, progress=True, root=None, kernel_log=None):
        km = InterpreterKernelManager(kernel_name="python3", python=interp.executable)
        return run_notebook(nb, cwd, timeout=timeout, budget=budget, progress=progress, km=km, kernel_log=kernel_log)

    run.description = (f"no sandbox: the notebook ran with the grader's permissions; kernel: {interp.executable} "
                       f"(Python {interp.version})")
    return run
