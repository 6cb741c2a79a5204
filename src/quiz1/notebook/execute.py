"""Execute a notebook with nbclient in a given folder, in a fresh kernel.

The kernel is the ``python3`` kernel of the running interpreter (ipykernel is a
dependency), so the notebook sees exactly the libraries quiz1 was installed with.

Two entry points: ``execute_notebook`` for quiz1's own notebook (the first failing
cell raises), and ``run_notebook`` for a notebook nobody vouches for (a student's):
it runs cell by cell under a per-cell timeout and a budget for the whole run, and
always returns what happened -- a timeout, a kernel that died, or Ctrl-C end the
run early but never raise. It is the executor the grader uses; any function with
its signature can replace it (the class grader runs it inside a sandbox).
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


def execute_notebook(nb, cwd: str | Path, *, timeout: int = 1800, allow_errors: bool = False, progress: bool = True):
    """Run every cell of ``nb`` (in place) with ``cwd`` as the working folder; return ``nb``.

    With ``allow_errors=False`` the first failing cell raises ``nbclient.exceptions.CellExecutionError``.
    """
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    bar = tqdm(total=n_code, desc="executing notebook", unit="cell", disable=not progress, leave=False)

    def on_cell_executed(cell, **_):
        if cell.cell_type == "code":
            bar.update(1)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
        on_cell_executed=on_cell_executed,
    )
    try:
        client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines ("running over TCP") are noise
    finally:
        bar.close()
    return nb


@dataclass(frozen=True)
class RunResult:
    """How a ``run_notebook`` call ended. ``stopped_at``: index of the first cell not run to its end, or None."""

    seconds: float
    timed_out: bool          # a cell ran past its timeout, or the whole budget ran out
    kernel_died: bool
    interrupted: bool        # Ctrl-C in the grader
    stopped_at: int | None
    timeouts: tuple = ()     # indices of cells that ran past their timeout


_QUIET = logging.getLogger("quiz1.untrusted-run")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def _error_output(ename: str, evalue: str) -> dict:
    import nbformat

    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def run_notebook(nb, cwd: str | Path, *, timeout: float = 600, budget: float = 1800, progress: bool = True,
                 kernel_name: str = "python3", startup_timeout: float = 120, km=None, root=None) -> RunResult:
    """Run the code cells of an untrusted ``nb`` (in place, errors allowed) with ``cwd`` as the working folder.

    Each cell gets ``min(timeout, what is left of budget)`` seconds; a cell past it is interrupted, gets an error
    output ``CellTimeoutError``, and the run goes on with the next cell while budget remains. A dead kernel or
    Ctrl-C stops the run; the cells not reached keep no outputs and no execution count. ``km``: a kernel manager
    to use (a sandboxed one); ``root``: the submission's folder, unused here (a sandboxed executor makes it writable).
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
    bar = tqdm(total=len(code), desc="running notebook", unit="cell", disable=not progress, leave=False)
    try:
        with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):  # kernel log lines: noise
            for i in code:
                left = budget - (time.monotonic() - t0)
                if left < 1:
                    timed_out, stopped = True, i
                    break
                client.timeout = max(1, int(min(timeout, left)))
                started = time.monotonic()
                try:
                    client.execute_cell(nb.cells[i], i)
                except DeadKernelError:
                    died, stopped = True, i
                    nb.cells[i].outputs.append(_error_output(
                        "DeadKernelError", "the kernel died while running this cell (os._exit, a crash, or out of memory)"))
                    break
                if time.monotonic() - started >= client.timeout:
                    timeouts.append(i)
                    timed_out = True
                    nb.cells[i].outputs.append(_error_output(
                        "CellTimeoutError", f"the cell ran past {client.timeout} s and was interrupted"))
                bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
        stopped = stopped if stopped is not None else next((i for i in code if nb.cells[i].execution_count is None), None)
    except DeadKernelError:  # died between cells, or while shutting down
        died = True
    except RuntimeError as e:  # the kernel never started
        died, stopped = True, code[0] if code else None
        if code:
            nb.cells[code[0]].outputs.append(_error_output("KernelStartError", str(e).splitlines()[0]))
    finally:
        bar.close()
    return RunResult(time.monotonic() - t0, timed_out, died, interrupted, stopped, tuple(timeouts))
