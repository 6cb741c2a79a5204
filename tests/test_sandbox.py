"""The grading machine itself: the sandbox's mounts wherever quiz1 lives (/tmp, a symlinked path), the self-check
that refuses to grade on a broken machine, and a machine failure in a class that is never blamed on a student."""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from quiz1.cli import main
from quiz1.grading.running.sandbox import bwrap_args, bwrap_problem
from students import Q1_NUMPY, Q7_FIXED, code, make_zip, md

needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")
GOOD = [md("## Question 1"), code(Q1_NUMPY.format(digits=5)), md("## Question 7"), code(Q7_FIXED)]
MOUNTS = {"--bind": 2, "--ro-bind": 2, "--symlink": 2, "--tmpfs": 1, "--dev": 1, "--proc": 1}


def mounts(args):
    """(option, destination) of each mount in a bwrap command line, in order: read from the arguments themselves."""
    out, i = [], 0
    while i < len(args) and args[i] != "--":
        n = MOUNTS.get(args[i])
        if n:
            out.append((args[i], args[i + n]))
            i += n + 1
        else:
            i += 1
    return out


def hidden(ms):
    """Mounts that a later mount at the same place or a folder above it hides."""
    return [(a, b) for k, a in enumerate(ms) for b in ms[k + 1:]
            if a[1] == b[1] or a[1].startswith(b[1].rstrip("/") + "/")]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from quiz1.data.standin import write_standin

    d = tmp_path_factory.mktemp("quizdata")
    write_standin(d)
    return d


def test_no_mount_hides_an_earlier_one_wherever_the_venv_lives(tmp_path, monkeypatch):
    """A venv under /tmp (the tmpfs must go first), a venv reached through a symlink (bound at both names), the
    submission and the ipc folder under /tmp."""
    real = tmp_path / "real" / ".venv"
    (real / "lib").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    for prefix in (str(real), str(link / ".venv")):
        monkeypatch.setattr(sys, "prefix", prefix)
        args = bwrap_args(Path("/tmp/quiz1-grade-x/sub"), Path("/tmp/quiz1-grade-x/sub"), Path("/tmp/quiz1-ipc-y"),
                          memory_gib=1, cpu_seconds=60, threads=1)
        ms = mounts(args)
        assert hidden(ms) == [], hidden(ms)
        dests = [d for _, d in ms]
        assert ("--tmpfs", "/tmp") in ms and prefix in dests and str(real) in dests
        assert dests.index("/tmp") < dests.index(prefix)
        for must in ("/tmp/quiz1-grade-x/sub", "/tmp/quiz1-ipc-y", sys.base_prefix):
            assert must in dests, must
        assert ("--bind", "/tmp/quiz1-grade-x/sub") in ms                           # the one writable folder


def test_the_old_order_is_caught_by_the_same_rule():
    """The rule the test above applies flags cc42407's order (ro-bind the venv, then a tmpfs over /tmp)."""
    old = ["bwrap", "--ro-bind", "/usr", "/usr", "--ro-bind", "/tmp/q/.venv", "/tmp/q/.venv", "--tmpfs", "/tmp",
           "--bind", "/tmp/sub", "/tmp/sub", "--", "prlimit"]
    assert hidden(mounts(old)) == [(("--ro-bind", "/tmp/q/.venv"), ("--tmpfs", "/tmp"))]


@needs_bwrap
def test_quiz1_installed_in_a_venv_under_tmp_grades_in_the_sandbox(tmp_path, data, capsys):
    """A fresh venv in a fresh /tmp folder, reaching this environment's packages through a .pth file, runs
    `quiz1 check`: the sandboxed kernel starts and the honest answers are correct (cc42407: every question error)."""
    venv = Path(tempfile.mkdtemp(prefix="quiz1-venv-", dir="/tmp"))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        site = next(venv.glob("lib/python3*/site-packages"))
        ours = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
        (site / "quiz1_test.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in ours))
        z = make_zip(tmp_path / "A0000001A.zip", data, {"A0000001A.ipynb": GOOD})
        r = subprocess.run([str(venv / "bin" / "python"), "-m", "quiz1.cli", "check", str(z), "--json", "--quiet",
                            "--timeout", "120"], capture_output=True, text=True, timeout=600)
        assert r.returncode in (0, 1), r.stderr
        rep = json.loads(r.stdout)
        assert rep["sandbox"].startswith("bubblewrap")
        assert (rep["questions"]["Q1"]["status"], rep["questions"]["Q7"]["status"]) == ("correct", "correct"), rep
        assert rep["execution"]["errors"] == []
        # the same venv as a course's own environment (--python), graded from quiz1's interpreter
        assert main(["check", str(z), "--json", "--quiet", "--variants", "0", "--python", str(venv / "bin" / "python")]) == 1
        rep = json.loads(capsys.readouterr().out)
        assert f"kernel: {venv}/bin/python" in rep["sandbox"], rep["sandbox"]
        assert (rep["questions"]["Q1"]["status"], rep["questions"]["Q7"]["status"]) == ("correct", "correct"), rep
    finally:
        shutil.rmtree(venv)


def test_a_python_without_ipykernel_is_one_sentence(tmp_path, data, capsys):
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    z = make_zip(tmp_path / "A0000005E.zip", data, {"A0000005E.ipynb": GOOD})
    assert main(["check", str(z), "--python", str(venv / "bin" / "python"), "--no-sandbox", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "has no ipykernel" in err and "pip install ipykernel" in err, err


@needs_bwrap
def test_a_huge_file_is_refused_by_the_sandbox_and_the_grader_goes_on(tmp_path, data):
    """RLIMIT_FSIZE: a notebook that tries to make a terabyte file gets an error in its cell; nothing else breaks."""
    from quiz1.grading import grade_submission
    from quiz1.grading.cohort.batch import Options, make_executor

    cells = [md("## Question 1"), code("with open('big.bin', 'wb') as f:\n    f.truncate(1 << 40)"), *GOOD[1:]]
    z = make_zip(tmp_path / "A0000006F.zip", data, {"A0000006F.ipynb": cells})
    rep = grade_submission(z, progress=False, executor=make_executor(Options(threads=1)), variants=0)
    assert any("File too large" in e.exception for e in rep.errors), rep.table()
    assert rep.questions["Q1"].status == "correct" and rep.questions["Q7"].status == "correct", rep.table()


def fake_bwrap(folder: Path, body: str) -> str:
    """A `bwrap` first on the PATH: passes the availability probe (`bwrap ... true`) to the real one, then ``body``."""
    folder.mkdir(exist_ok=True)
    real = shutil.which("bwrap")
    script = folder / "bwrap"
    script.write_text(f'#!/bin/sh\ncase "$*" in *" true") exec {real} "$@";; esac\n{body}\n')
    script.chmod(0o755)
    return f"{folder}:{os.environ['PATH']}"


@needs_bwrap
def test_a_sandbox_that_starts_no_kernel_refuses_to_grade(tmp_path, data, monkeypatch, capsys):
    monkeypatch.setenv("PATH", fake_bwrap(tmp_path / "bin", 'echo "bwrap: cannot mount the sandbox" >&2\nexit 1'))
    z = make_zip(tmp_path / "A0000002B.zip", data, {"A0000002B.ipynb": GOOD})
    assert main(["check", str(z), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nothing was graded" in err and "does not start" in err, err
    assert "cannot mount the sandbox" in err and "--no-sandbox" in err                 # the cause, and the way out
    out = tmp_path / "out"
    assert main(["grade", str(z), "--out", str(out), "--quiet"]) == 2
    assert not out.exists(), list(out.rglob("*"))                                     # no verdict for anyone
    assert "nothing was graded" in capsys.readouterr().err


@needs_bwrap
def test_a_bwrap_that_cannot_run_at_all_is_one_sentence(tmp_path, data, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bwrap").write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    (bin_dir / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    z = make_zip(tmp_path / "A0000003C.zip", data, {"A0000003C.ipynb": GOOD})
    assert main(["check", str(z), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Permission denied" in err and "--no-sandbox" in err, err


@needs_bwrap
def test_a_machine_that_fails_during_a_class_grades_nobody_and_retries(tmp_path, data, monkeypatch, capsys):
    """The sandbox works for the self-check, then breaks: each zip's row says `not graded` with the cause (not a
    student's FAIL), is not cached, and the next run, on a mended machine, grades it."""
    state = tmp_path / "state"
    state.mkdir()
    real = shutil.which("bwrap")
    monkeypatch.setenv("PATH", fake_bwrap(tmp_path / "bin", f'if [ ! -e {state}/used ]; then touch {state}/used; '
                                                            f'exec {real} "$@"; fi\necho "bwrap: the sandbox is gone" >&2\nexit 1'))
    folder = tmp_path / "class"
    folder.mkdir()
    for sid in ("A4000001A", "A4000002B"):
        make_zip(folder / f"{sid}.zip", data, {f"{sid}.ipynb": GOOD})
    out = tmp_path / "out"
    assert main(["grade", str(folder), "--out", str(out), "--jobs", "1", "--quiet"]) == 1
    assert "not graded" in capsys.readouterr().out
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    for r in rows:
        assert r["passed"] == "not graded" and {r[f"Q{q}"] for q in range(1, 8)} == {"not graded"}, r
        assert "not graded" in r["problems"] and "the sandbox is gone" in r["problems"], r
    assert "not graded" in (out / "report.html").read_text()
    monkeypatch.setenv("PATH", os.environ["PATH"].split(":", 1)[1])                    # the machine is mended
    assert main(["grade", str(folder), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["Q1"], r["Q7"], r["passed"]) for r in rows] == [("correct", "correct", "False")] * 2, rows


@needs_bwrap
def test_check_when_the_machine_fails_mid_run_is_exit_2_not_a_fail(tmp_path, data, monkeypatch, capsys):
    state = tmp_path / "state"
    state.mkdir()
    real = shutil.which("bwrap")
    monkeypatch.setenv("PATH", fake_bwrap(tmp_path / "bin", f'if [ ! -e {state}/used ]; then touch {state}/used; '
                                                            f'exec {real} "$@"; fi\necho "bwrap: the sandbox is gone" >&2\nexit 1'))
    z = make_zip(tmp_path / "A0000004D.zip", data, {"A0000004D.ipynb": GOOD})
    assert main(["check", str(z), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert "FAIL" not in captured.out and "not graded" in captured.err and "the sandbox is gone" in captured.err


def failing_apart(times):
    """``run_notebook``, except that the grader's own kernel apart from the notebook (Q7's harness, in a
    ``quiz1-q7-`` folder) does not start the first ``times`` times (a port taken, a slow machine)."""
    from quiz1.grading.running.run import RunResult, run_notebook

    left = [times]

    def run(nb, cwd, **kw):
        if Path(cwd).name.startswith("quiz1-q7-") and left[0] > 0:
            left[0] -= 1
            return RunResult(0.0, False, False, False, 0, (), False, "the port 51234 is taken", None, False)
        return run_notebook(nb, cwd, **kw)
    return run, left


def test_the_graders_own_kernel_that_does_not_start_is_retried_not_handed_to_a_ta(tmp_path, data, monkeypatch):
    """The kernel of Q7's harness (the grader's, in a folder of its own) fails to start once: the harness runs
    again and the fixed class is `correct`; it never starts: the zip is `not graded` (the machine's failure, graded
    again on the next run), never `unverified` for a TA to mark."""
    from quiz1.grading.cohort.batch import Options, grade_one
    from quiz1.grading.grade import grade_submission
    from quiz1.grading.running import canary

    z = make_zip(tmp_path / "A0000005E.zip", data, {"A0000005E.ipynb": GOOD})
    once, left = failing_apart(1)
    rep = grade_submission(z, executor=once, progress=False, variants=0)
    assert left == [0] and rep.questions["Q7"].status == "correct", rep.questions["Q7"]

    monkeypatch.setattr(canary, "self_check", lambda executor, **kw: None)   # the canary runs: only the harness fails
    always, _ = failing_apart(10 ** 6)
    monkeypatch.setattr("quiz1.grading.cohort.batch.make_executor", lambda opts: always)
    row = grade_one(str(z), Options(variants=0))["report"]
    assert row["graded"] is False and row["questions"] == {}, row
    assert "port 51234 is taken" in row["not_graded"] and "grade this zip again" in row["not_graded"], row


def test_a_guard_cell_that_fails_is_the_graders_failure_named_with_the_questions_it_stops(tmp_path, data, monkeypatch):
    """The grader's first cell raises (as a broken install of quiz1 would): the report says so once, as the
    grader's failure, naming the questions whose own cells needed it (here Q1's call record), not a student's."""
    import nbformat

    from quiz1.grading.grade import grade_submission
    from quiz1.grading.running import execution

    monkeypatch.setattr(execution, "guard_cell", lambda nonce, key: nbformat.v4.new_code_cell(
        "raise RuntimeError('boom')"))
    z = make_zip(tmp_path / "A0000006F.zip", data, {"A0000006F.ipynb": GOOD})
    rep = grade_submission(z, progress=False, variants=0)
    said = [p for p in rep.to_json()["layout"]["problems"] if "guard cell failed" in p]
    assert len(said) == 1 and "(RuntimeError: boom)" in said[0], rep.to_json()["layout"]
    assert "the grader's own cells for Q1" in said[0] and "not the student's" in said[0], said
