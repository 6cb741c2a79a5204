"""The Python the grading kernel runs: quiz1's own (default), or a course's environment (``--python PATH``).

A course may grade with the environment its students were given. ``interpreter(PATH)`` asks that interpreter
where it lives (its prefixes and site-packages, which the sandbox binds read-only) and whether it can start a
kernel (ipykernel); ``InterpreterKernelManager`` starts the ``python3`` kernel with it instead of quiz1's own.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Unicode

_ASK = ("import sys, json, importlib.util as u; print(json.dumps({'prefixes': [sys.prefix, sys.base_prefix], "
        "'path': [p for p in sys.path if p], 'ipykernel': u.find_spec('ipykernel') is not None, "
        "'version': sys.version.split()[0]}))")


@dataclass(frozen=True)
class Interpreter:
    """An interpreter a kernel can run with: its path, the folders it needs, its version."""

    executable: str
    paths: tuple
    version: str


def current_paths() -> list[str]:
    """The folders quiz1's own interpreter needs: its prefixes (pyenv under the home, a venv under /tmp, ...) and
    every site-packages folder on ``sys.path`` (a ``.pth`` file may reach another environment's)."""
    paths = {sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parents[1])}
    paths |= {p for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()}
    return sorted(paths)


def interpreter(python: str) -> Interpreter:
    """``python`` asked where it lives; ``ValueError`` (one sentence) when it cannot run or has no ipykernel."""
    exe = Path(python)
    if not exe.is_file():
        raise ValueError(f"--python {python}: no such file")
    try:
        r = subprocess.run([str(exe), "-c", _ASK], capture_output=True, text=True, timeout=60)
        info = json.loads(r.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        raise ValueError(f"--python {python}: not a Python interpreter that runs here") from None
    if not info["ipykernel"]:
        raise ValueError(f"--python {python}: has no ipykernel, so it cannot run a notebook's kernel; install it "
                         f"with `{python} -m pip install ipykernel`")
    site = {p for p in info["path"] if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()}
    exe_prefix = str(exe.resolve().parents[1])
    return Interpreter(str(exe.absolute()), tuple(sorted({*info["prefixes"], exe_prefix, *site})), info["version"])


class InterpreterKernelManager(AsyncKernelManager):
    """The ``python3`` kernel, started by ``python`` when it is set (else by quiz1's own interpreter)."""

    python = Unicode("")

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        return [self.python, *cmd[1:]] if self.python else cmd
