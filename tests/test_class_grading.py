"""`quiz1 grade`: a class of student-style zips, each sandboxed; a hostile one, a dying one, an endless one, a
non-zip; re-runs; a dask cluster. Every assertion names what a TA would check."""
import csv
import json
import secrets
import socket
import threading
from pathlib import Path

import nbformat
import pytest

from quiz1.cli import main
from quiz1.grading.running.sandbox import bwrap_problem
from students import Q1_NUMPY, Q7_FIXED, code, make_zip, md

pytestmark = pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")

GOOD = [md("## Question 1"), code(Q1_NUMPY.format(digits=5)), md("## Question 7"), code(Q7_FIXED)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from quiz1.data.standin import write_standin

    d = tmp_path_factory.mktemp("quizdata")
    write_standin(d)
    return d


def hostile(secret_paths, escape, port):
    """Reads the planted secrets, writes outside its folder, phones home, and eats memory in 1 GiB steps."""
    return [md("## Question 1"), code(f"""
import os, socket
for p in {[str(p) for p in secret_paths]!r}:
    try:
        print("read", p, open(p).read())
    except Exception as e:
        print("cannot read", p, type(e).__name__)
for p in [os.path.expanduser("~/x"), "/tmp/x", "../x", {str(escape)!r}, {str(Path.home() / 'x')!r}]:
    try:
        open(p, "w").write("escaped")
        print("wrote", p)
    except Exception as e:
        print("cannot write", p, type(e).__name__)
s = socket.socket()
s.settimeout(3)
try:
    s.connect(("127.0.0.1", {port}))
    s.sendall(b"hello")
    print("connected")
except Exception as e:
    print("no connection", type(e).__name__)
"""), code("""
blocks = []
try:
    for i in range(8):
        blocks.append(bytearray(1 << 30))
    print("allocated all 8 GiB")
except MemoryError:
    print(f"MemoryError after {len(blocks)} GiB")
""")]


def test_a_class_with_a_hostile_a_dying_an_endless_and_a_broken_submission(tmp_path, data, capsys):
    token = secrets.token_hex(12)                                           # the secret: the files' content
    name = f"quiz1-secret-{secrets.token_hex(4)}.txt"
    secrets_planted = [Path.home() / name, Path("/tmp") / name]
    escape = tmp_path / "escaped.txt"
    outside = [Path.home() / "x", Path("/tmp/x"), escape]
    for p in outside:
        assert not p.exists(), f"{p} exists before the test; remove it"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    seen, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                seen.append(listener.accept())
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    for p in secrets_planted:
        p.write_text(token)
    try:
        folder = tmp_path / "class"
        folder.mkdir()
        make_zip(folder / "A1000001A.zip", data, {"A1000001A.ipynb": hostile(secrets_planted, escape,
                                                                              listener.getsockname()[1])})
        make_zip(folder / "A1000002B.zip", data, {"A1000002B.ipynb": [md("## Q1"), code("import os\nos._exit(3)")]})
        make_zip(folder / "A1000003C.zip", data, {"A1000003C.ipynb": [md("## Q2"), code("while True:\n    pass"),
                                                                      *GOOD]})
        (folder / "A1000004D.zip").write_bytes(b"this is not a zip")
        make_zip(folder / "A1000005E.zip", data, {"A1000005E.ipynb": GOOD})
        make_zip(folder / "A1000006F.zip", data, {"A1000006F.ipynb": GOOD})
        out = tmp_path / "out"
        assert main(["grade", str(folder), "--out", str(out), "--jobs", "2", "--timeout", "15", "--budget", "120",
                     "--memory", "2", "--quiet"]) == 0
    finally:
        stop.set()
        thread.join(2)
        listener.close()
        for p in secrets_planted:
            p.unlink()
    console = capsys.readouterr()
    for f in out.rglob("*"):
        assert token not in f.read_text(errors="replace"), f"the secret leaked into {f}"
    assert token not in console.out + console.err
    assert not any(p.exists() for p in outside), [p for p in outside if p.exists()]
    assert seen == [], "the sandboxed notebook reached a port on 127.0.0.1"
    nb = nbformat.read(out / "A1000001A.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "MemoryError after" in printed and "allocated all 8 GiB" not in printed
    assert int(printed.split("MemoryError after ")[1].split()[0]) <= 2
    with open(out / "grades.csv") as f:
        rows = {r["zip"]: r for r in csv.DictReader(f)}
    assert len(rows) == 6
    assert rows["A1000002B.zip"]["Q1"] == "error" and "kernel died" in rows["A1000002B.zip"]["problems"]
    assert rows["A1000003C.zip"]["Q2"] == "error" and rows["A1000003C.zip"]["Q1"] == "correct"
    assert "timed out" in rows["A1000003C.zip"]["problems"] and rows["A1000003C.zip"]["Q7"] == "correct"
    assert "not a readable zip" in rows["A1000004D.zip"]["problems"]
    for good in ("A1000005E.zip", "A1000006F.zip"):
        assert (rows[good]["Q1"], rows[good]["Q7"], rows[good]["errors"]) == ("correct", "correct", "0")
    page = (out / "report.html").read_text()
    assert "id='A1000005E'" in page and "href='#A1000005E'" in page and "http" not in page.replace("http-equiv", "")
    assert "bubblewrap" in json.loads((out / "A1000005E.json").read_text())["grader"]["sandbox"]


def test_rerun_skips_graded_zips_and_force_redoes_them(tmp_path, data, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    make_zip(folder / "A2000001A.zip", data, {"A2000001A.ipynb": GOOD[:2]})
    out = tmp_path / "out"
    args = ["grade", str(folder), "--out", str(out), "--jobs", "1", "--quiet", "--variants", "0"]   # what is re-graded
    assert main(args) == 0
    first = (out / "A2000001A.json").stat().st_mtime_ns
    assert main(args) == 0
    assert (out / "A2000001A.json").stat().st_mtime_ns == first            # same zip, same quiz1: skipped
    assert main(args + ["--force"]) == 0
    assert (out / "A2000001A.json").stat().st_mtime_ns != first            # --force: graded again
    forced = (out / "A2000001A.json").stat().st_mtime_ns
    assert main(args + ["--data", str(data)]) == 0                          # other data graded against: again
    assert (out / "A2000001A.json").stat().st_mtime_ns != forced
    assert json.loads((out / "A2000001A.json").read_text())["caveats"] == ["Q6 judged by the zip's own Q_6/model.pth (no --model)"]
    args += ["--data", str(data)]
    assert main(["mark", str(out), "A2000001A", "Q1", "2", "--by", "alice", "--comment", "rounded too early"]) == 0
    make_zip(folder / "A2000001A.zip", data, {"A2000001A.ipynb": GOOD})     # the student sent a new version
    assert main(args) == 0
    rep = json.loads((out / "A2000001A.json").read_text())
    assert rep["questions"]["Q7"]["status"] == "correct"
    from quiz1.grading.marks.gradebook import items

    marks = {it["question"]: it for it in items(out)}
    assert (marks["Q1"]["marks"], marks["Q1"]["marked_by"]) == (2, "alice")     # the TA's mark survives the re-run
    assert (marks["Q7"]["marks"], marks["Q7"]["marked_by"]) == (2, "machine")   # now correct: the rubric's 2
    assert main(["export", str(out), "--csv", str(tmp_path / "marks.csv")]) == 0
    with open(tmp_path / "marks.csv") as f:
        row = next(csv.DictReader(f))
    assert (row["Q1"], row["Q1 marked by"], row["total (of 15)"], row["bonus (of 4)"]) == ("2", "alice", "2", "2")
    page = (out / "report.html").read_text()
    assert "<h2>Marks</h2>" in page and "2 + 2" in page and "Nothing waits for a human." in page
    # issue 34, items 11 and 12: one more zip graded alone, a second submission of the same student: the class stays
    # in grades.csv and report.html, and `grade` names the two submissions
    late = tmp_path / "late"
    late.mkdir()
    make_zip(late / "A2000001A_resubmit.zip", data, {"A2000001A.ipynb": GOOD[:2]})
    capsys.readouterr()
    assert main(["grade", str(late / "A2000001A_resubmit.zip"), *args[2:]]) == 0
    said = capsys.readouterr().out
    with open(out / "grades.csv") as f:
        zips = sorted(r["zip"] for r in csv.DictReader(f))
    assert zips == ["A2000001A.zip", "A2000001A_resubmit.zip"] and \
        "A2000001A: 2 submissions (A2000001A.zip, A2000001A_resubmit.zip)" in said and "--prefer latest" in said, \
        (zips, said)
    page = (out / "report.html").read_text()
    assert "2 submission(s)" in page and "A2000001A: 2 submissions" in page


def test_grading_through_a_dask_cluster(tmp_path, data):
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    folder = tmp_path / "class"
    folder.mkdir()
    for sid in ("A3000001A", "A3000002B"):
        make_zip(folder / f"{sid}.zip", data, {f"{sid}.ipynb": GOOD})
    out = tmp_path / "out"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main(["grade", str(folder), "--out", str(out), "--scheduler", cluster.scheduler_address,
                     "--quiet"]) == 0
        workers = len(cluster.scheduler_info["workers"])
    assert workers == 2
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["student_id"] for r in rows) == ["A3000001A", "A3000002B"]
    assert all(r["Q1"] == "correct" and r["Q7"] == "correct" for r in rows)
