"""Execute a notebook with nbclient in a given folder, in a fresh kernel.

The kernel is the ``python3`` kernel of the running interpreter (ipykernel is a
dependency), so the notebook sees exactly the libraries quiz1 was installed with.

quiz1's own notebook only: the first failing cell raises. A notebook nobody vouches
for (a student's) runs through ``quiz1.grading.running.run.run_notebook`` instead.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from nbclient import NotebookClient
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
