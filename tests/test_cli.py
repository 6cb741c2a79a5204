"""CLI: JSON outputs against independent references; bad input gives one sentence, exit 2, nothing written."""
import json
import shutil
import zipfile

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from quiz1.cli import main


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_q1_json_matches_torch(capsys, standin_dir):
    rc, out, _ = _run(capsys, "q1", "--data", str(standin_dir), "--json")
    assert rc == 0
    res = json.loads(out)
    z = np.loadtxt(standin_dir / "Q1" / "data.txt")
    y = np.loadtxt(standin_dir / "Q1" / "labels.txt")
    ref = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y.argmax(1)), reduction="none").numpy()
    assert_allclose(res["per_sample"], ref, rtol=1e-12)
    assert_allclose(res["mean"], ref.mean(), rtol=1e-12)
    assert_allclose(res["total"], ref.sum(), rtol=1e-12)


def test_q7_json(capsys):
    rc, out, _ = _run(capsys, "q7", "--json")
    res = json.loads(out)
    assert rc == 0 and "second time" in res["original_error"]
    # x1 = 1 + 1 + 1 = 3, d(x1^2)/dx0 = 2 x1 (1 + 2 x0) = 18 per pass; gradients accumulate: 18, then 36
    assert_allclose(res["grad_after_first"], [18.0])
    assert_allclose(res["grad_after_second"], [36.0])


def _bad_inputs(tmp_path, standin_dir):
    """Each a (name, path) of an input the build must refuse."""
    cases = {}

    def variant(name, edit):
        d = tmp_path / name
        shutil.copytree(standin_dir, d)
        edit(d)
        z = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(z, "w") as zf:
            for p in sorted(d.rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(d).as_posix())
        cases[name] = z

    variant("missing", lambda d: (d / "Q4" / "Q1Q4I3.npz").unlink())
    variant("not_one_hot", lambda d: np.savetxt(d / "Q1" / "labels.txt", np.ones((50, 100)), fmt="%d"))
    variant("nan_logits", lambda d: np.savetxt(d / "Q1" / "data.txt", np.where(
        np.arange(100) == 7, np.nan, np.loadtxt(d / "Q1" / "data.txt"))))

    def truncate(d):
        p = d / "Q5" / "xy.npz"
        p.write_bytes(p.read_bytes()[:100])
    variant("truncated_npz", truncate)
    variant("q5_too_few", lambda d: np.savez(d / "Q5" / "ab.npz", np.load(d / "Q5" / "ab.npz")["arr_0"][:, :2]))
    evil = tmp_path / "evil.zip"
    shutil.copy(cases["missing"], evil)
    with zipfile.ZipFile(evil, "a") as zf:
        zf.writestr("../x", "boom")
    cases["dotdot"] = evil
    return cases


@pytest.mark.parametrize("case, needle", [
    ("missing", "Q1Q4I3.npz not found"), ("not_one_hot", "labels.txt: labels should be one-hot"),
    ("nan_logits", "nan_logits.zip:Q1/data.txt: logits should be finite"), ("truncated_npz", "xy.npz: could not be read"),
    ("dotdot", "'../x' points outside"), ("q5_too_few", "ab.npz: should hold at least 10 points but holds 2"),
])
def test_build_bad_input_exit_2_nothing_written(capsys, tmp_path, standin_dir, case, needle):
    path = _bad_inputs(tmp_path, standin_dir)[case]
    out_dir = tmp_path / "dist"
    rc, out, err = _run(capsys, "build", "--data", str(path), "--out", str(out_dir), "--quiet")
    assert rc == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("quiz1: error: ")
    assert not out_dir.exists() or not any(out_dir.iterdir())
    assert not (tmp_path / "x").exists()


def test_build_bad_student_id(capsys, tmp_path):
    rc, _, err = _run(capsys, "build", "--student-id", "B123", "--out", str(tmp_path / "d"))
    assert rc == 2 and "student id" in err and not (tmp_path / "d").exists()


def test_data_standin_refuses_nonempty(capsys, tmp_path):
    (tmp_path / "keep").write_text("x")
    rc, _, err = _run(capsys, "data", "standin", str(tmp_path))
    assert rc == 2 and "not empty" in err


def test_data_standin_writes_layout(capsys, tmp_path):
    rc, out, _ = _run(capsys, "data", "standin", str(tmp_path / "sd"))
    assert rc == 0 and "scikit-learn" in out
    names = sorted(p.relative_to(tmp_path / "sd").as_posix() for p in (tmp_path / "sd").rglob("*.*"))
    assert names == ["Q1/data.txt", "Q1/labels.txt", "Q4/Q1Q4I1.txt", "Q4/Q1Q4I2.npz", "Q4/Q1Q4I3.npz",
                     "Q5/ab.npz", "Q5/xy.npz", "Q6/I0.png", "Q6/I1.png"]


def test_list_options_take_negative_numbers(capsys):
    """Lists written as a user types them, starting with a minus sign, with or without '=': the same answer, and
    the eval input really is negative (Figure 1's natural reading at x, derived by hand from the figure)."""
    glued = _run(capsys, "q2", "--inputs=-1,-2,-3", "--claim=-25,-30,-35", "--eval=-4,5,-6", "--json")
    spaced = _run(capsys, "q2", "--inputs", "-1,-2,-3", "--claim", "-25,-30,-35", "--eval", "-4,5,-6", "--json")
    assert glued[0] == spaced[0] == 0 and glued[1] == spaced[1]
    x = np.array([-4.0, 5.0, -6.0])
    t1, t2 = 5 * x, x / 5
    t5 = x + t2
    natural = (t1 * t2 + (x + 5) + x - t1) + (t5 + t5 / x)
    res = json.loads(spaced[1])
    assert res["consistent"] == 0 and np.allclose(res["eval_outputs"][0], natural)  # no match: the natural reading
