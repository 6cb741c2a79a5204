"""A sandbox for a student's kernel: bubblewrap around the kernel only, reached over ZeroMQ ipc sockets.

Design. The executor (nbclient) stays in the grader's process; only the kernel
and whatever it starts run inside ``bwrap``. The kernel gets its own, empty
network namespace, where a TCP connection to the grader is impossible, so the
two talk over ZeroMQ's ``ipc`` transport: Unix sockets in a private folder bound
into the sandbox at the same path. Keeping the executor outside means nothing
the notebook does can forge the grader's own record of the run (it cannot reach
the grader's memory, files or result).

What the kernel sees: the system read-only (``/usr``, ``/etc``), the
interpreter's prefix (``sys.base_prefix``), the venv and every site-packages
folder on ``sys.path`` read-only, wherever they live (``mount_plan`` orders the
mounts so that none hides another: a venv under ``/tmp`` stays visible over
the private ``/tmp``), a private ``/tmp``, no home (``HOME=/tmp``), no other process (own pid namespace), and one
writable folder: the submission's extracted copy. Limits: files of at most
``FILE_BYTES`` (``RLIMIT_FSIZE``: one ``truncate(1 << 40)`` cannot fill the
grader's disk), a ``/tmp`` of ``TMP_BYTES``, ``RLIMIT_DATA``
(``--memory``, per process: heap and anonymous mappings, which is what a tensor
or a list takes; an address-space limit would stop torch from importing),
``RLIMIT_CPU`` (CPU seconds, the budget), a process cap through a ``pids``
cgroup where one is writable (``RLIMIT_NPROC`` would count all of root's
processes), and the thread count of OpenMP/MKL (``--jobs`` kernels share the
cores). Interrupts go as a message on
the control channel (``interrupt_mode = "message"``): the kernel is in its own
session, out of reach of the grader's process group.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from traitlets import List, Unicode

from .interpreter import InterpreterKernelManager, current_paths, interpreter

FILE_BYTES = 256 << 20     # the largest file a notebook may write (RLIMIT_FSIZE): a figure or a PNG is far smaller
TMP_BYTES = 512 << 20      # the private /tmp, a tmpfs in memory


class SandboxedKernelManager(InterpreterKernelManager):
    """A kernel manager whose kernel command is prefixed by ``sandbox_prefix`` (bwrap and prlimit)."""

    sandbox_prefix = List(Unicode())
    cgroup_procs = Unicode("")   # a cgroup's cgroup.procs file the kernel's process tree joins, or ""

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.cgroup_procs:  # join the cgroup first, then become the sandbox (every child stays in the cgroup)
            cmd = ["/bin/sh", "-c", f'echo $$ > "{self.cgroup_procs}" && exec "$@"', "sh", *self.sandbox_prefix, *cmd]
            return cmd
        return [*self.sandbox_prefix, *cmd]


def bwrap_problem() -> str | None:
    """Why bubblewrap cannot sandbox a kernel here (one sentence), or None when it can."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed: install Debian's bubblewrap, or pass --no-sandbox"
    try:
        r = subprocess.run([exe, "--unshare-net", "--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/",
                            "--dev", "/dev", "--proc", "/proc", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap cannot run here ({e.__class__.__name__}); pass --no-sandbox to grade without it"
    if r.returncode != 0:
        why = (r.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        return f"bubblewrap cannot run here ({why}); pass --no-sandbox to grade without it"
    return None


def _pids_cgroup() -> Path | None:
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if (base / "cgroup.procs").exists() and os.access(base, os.W_OK) and (
                base.name == "pids" or "pids" in (base / "cgroup.controllers").read_text(errors="ignore")
                if (base / "cgroup.controllers").exists() else base.name == "pids"):
            return base
    return None


def mount_plan(writable: Path, ipc_dir: Path, paths=None) -> list[tuple]:
    """The sandbox's mounts as bwrap options ``(option, *operands)``, the destination last, in an order where no
    mount hides an earlier one: a mount goes after every mount of a folder above it (/tmp's tmpfs before a venv that
    lives under /tmp). A symlinked path is bound at its real place and at the path the grader uses. ``paths``: the
    folders the kernel's interpreter needs, read-only (default: quiz1's own, ``interpreter.current_paths``)."""
    plan = [("--ro-bind", "/usr", "/usr"), ("--ro-bind", "/etc", "/etc"), ("--size", str(TMP_BYTES), "--tmpfs", "/tmp"),
            ("--dev", "/dev"), ("--proc", "/proc")]
    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        p = Path("/") / name
        if p.is_symlink():
            plan.append(("--symlink", os.readlink(p), str(p)))
        elif p.is_dir():
            plan.append(("--ro-bind", str(p), str(p)))
    covered = ("/usr", "/etc")
    binds = [("--ro-bind", p) for p in (paths or current_paths())] + [("--bind", str(writable)), ("--bind", str(ipc_dir))]
    for opt, path in binds:
        real = os.path.realpath(path)
        for dest in dict.fromkeys((real, os.path.abspath(path))):
            if opt == "--ro-bind" and (dest in covered or dest.startswith(tuple(c + "/" for c in covered))):
                continue
            plan.append((opt, real, dest))
    seen, out = set(), []
    for m in sorted(plan, key=lambda m: len(Path(m[-1]).parts)):  # stable: a parent before its children
        if m[-1] not in seen:
            seen.add(m[-1])
            out.append(m)
    return out


def bwrap_args(writable: Path, cwd: Path, ipc_dir: Path, *, memory_gib: float, cpu_seconds: int, threads: int,
               paths=None) -> list:
    """The command prefix that runs a kernel in the sandbox described in the module docstring."""
    args = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
            "--new-session"]
    for m in mount_plan(writable, ipc_dir, paths):
        args += list(m)
    args += ["--chdir", str(cwd), "--unsetenv", "JPY_PARENT_PID", "--setenv", "HOME", "/tmp",
             "--setenv", "MPLCONFIGDIR", "/tmp/mpl"]
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        args += ["--setenv", var, str(threads)]
    args += ["--", "prlimit", f"--data={int(memory_gib * 2 ** 30)}", f"--cpu={int(cpu_seconds)}", "--core=0",
             f"--fsize={FILE_BYTES}", "--"]
    return args


def sandboxed_executor(memory_gib: float = 4.0, threads: int = 1, max_procs: int = 256, python: str | None = None):
    """An executor with ``run_notebook``'s signature that runs the kernel in the bubblewrap sandbox.

    ``root``: the submission's extracted copy, the one writable folder (default: the notebook's folder);
    ``python``: the interpreter the kernel runs (default quiz1's own; ``ValueError`` when it cannot).
    """
    from .run import run_notebook

    interp = interpreter(python) if python else None

    def run(nb, cwd, *, timeout, budget, progress=True, root=None, kernel_log=None):
        cwd = Path(cwd).resolve()
        writable = Path(root).resolve() if root is not None else cwd
        cg = None
        base = _pids_cgroup()
        if base is not None:
            cg = base / f"quiz1-{uuid.uuid4().hex[:12]}"
            try:
                cg.mkdir()
                (cg / "pids.max").write_text(str(max_procs))
            except OSError:
                cg = None
        try:
            with tempfile.TemporaryDirectory(prefix="quiz1-ipc-") as ipc:
                km = SandboxedKernelManager(kernel_name="python3", transport="ipc", ip=f"{ipc}/kernel",
                                            connection_file=f"{ipc}/kernel.json")
                km.kernel_spec.interrupt_mode = "message"
                km.sandbox_prefix = bwrap_args(writable, cwd, Path(ipc), memory_gib=memory_gib,
                                               cpu_seconds=max(60, int(budget) + 30), threads=threads,
                                               paths=interp.paths if interp else None)
                km.python = interp.executable if interp else ""
                km.cgroup_procs = str(cg / "cgroup.procs") if cg is not None else ""
                return run_notebook(nb, cwd, timeout=timeout, budget=budget, progress=progress, km=km,
                                    kernel_log=kernel_log)
        finally:
            if cg is not None:
                for pid in (cg / "cgroup.procs").read_text().split() if cg.exists() else []:
                    try:
                        os.kill(int(pid), 9)
                    except (OSError, ValueError):
                        pass
                for _ in range(50):  # the killed processes leave the cgroup a moment later
                    try:
                        cg.rmdir()
                        break
                    except OSError:
                        time.sleep(0.1)

    run.description = (f"bubblewrap sandbox: no network, read-only system, private /tmp, home hidden, only the "
                       f"submission writable; {memory_gib:g} GiB data per process, {threads} thread(s)"
                       + (f", at most {max_procs} processes" if _pids_cgroup() else "")
                       + (f"; kernel: {interp.executable} (Python {interp.version})" if interp else ""))
    return run
