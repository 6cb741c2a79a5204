"""Data layer: finding files in folders and zips, validation, safe extraction, the stand-in."""
import hashlib
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from PIL import Image

from quiz1.data.loaders import find_quiz_files, load_cloud, load_image, load_mnist, load_q1, load_quiz_data, opened_input, safe_extract
from quiz1.data.standin import write_standin


def _zip_dir(folder: Path, zpath: Path, prefix="Quizz_data/"):
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + p.relative_to(folder).as_posix())
    return zpath


def test_standin_loads_and_is_deterministic(tmp_path, standin_dir):
    d = load_quiz_data(standin_dir)
    assert d.q1.logits.shape == (50, 100) and d.q1.labels.shape == (50, 100)
    assert d.q4["Q1Q4I1.txt"].shape == (100, 2)
    assert d.q4["Q1Q4I2.npz"].shape == (10000, 3)
    assert d.q4["Q1Q4I3.npz"].shape == (8000, 4)
    assert d.q5.xy.shape[0] == 2 and d.q5.ab.shape == d.q5.xy.shape
    assert_array_equal(d.q5.xy[1], 0.0)
    assert d.q6.i0.shape == (28, 28) and d.q6.i0.dtype == np.uint8 and d.q6.model is None
    write_standin(tmp_path / "again")
    for p in sorted(standin_dir.rglob("*.*")):
        q = tmp_path / "again" / p.relative_to(standin_dir)
        assert hashlib.sha256(p.read_bytes()).digest() == hashlib.sha256(q.read_bytes()).digest(), p.name


def test_standin_images_from_mnist(tmp_path, mnist_dir):
    src = write_standin(tmp_path, mnist_dir=mnist_dir)
    assert "MNIST" in src
    images, labels = load_mnist(mnist_dir)
    i0 = load_image(tmp_path / "Q6" / "I0.png")
    idx = [i for i in range(8000, 10000) if (images[i] == i0).all()]
    assert idx and labels[idx[0]] == 2  # held out from the stand-in model's training part


def test_real_quiz_data_loads(quiz_data):
    d = load_quiz_data(quiz_data)
    assert d.q1.logits.shape == (50, 100)
    assert 900 <= d.q1.logits.min() and d.q1.logits.max() <= 1000
    assert_array_equal(d.q1.labels.sum(1), 1)
    assert d.q5.xy.shape == (2, 150)


def test_zip_input_found_anywhere_inside(tmp_path, standin_dir):
    z = _zip_dir(standin_dir, tmp_path / "in.zip", prefix="deep/er/")
    with opened_input(z) as root:
        d = load_quiz_data(root)
    assert d.q1.logits.shape == (50, 100)


def test_zip_missing_file(tmp_path, standin_dir):
    src = tmp_path / "src"
    shutil.copytree(standin_dir, src)
    (src / "Q5" / "ab.npz").unlink()
    z = _zip_dir(src, tmp_path / "in.zip")
    with pytest.raises(ValueError, match=r"ab\.npz not found"):
        with opened_input(z) as root:
            load_quiz_data(root)


@pytest.mark.parametrize("name, msg", [("../x", r"outside the archive"), ("/etc/x", "absolute path"),
                                       ("a/../../x", "outside the archive")])
def test_zip_dangerous_names_refused(tmp_path, name, msg):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("ok.txt", "1")
        zf.writestr(name, "boom")
    with pytest.raises(ValueError, match=msg):
        safe_extract(z, tmp_path / "out")
    assert not (tmp_path / "x").exists()


def test_zip_symlink_refused(tmp_path):
    z = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ValueError, match="symbolic link"):
        safe_extract(z, tmp_path / "out")


def test_not_a_zip(tmp_path):
    p = tmp_path / "x.zip"
    p.write_text("hello")
    with pytest.raises(ValueError, match="not a readable zip"):
        with opened_input(p):
            pass


def test_labels_not_one_hot(tmp_path):
    np.savetxt(tmp_path / "data.txt", np.ones((2, 3)))
    np.savetxt(tmp_path / "labels.txt", np.array([[1, 0, 0], [1, 1, 0]]), fmt="%d")
    with pytest.raises(ValueError, match=r"labels\.txt: labels should be one-hot but row 1 has 2 ones"):
        load_q1(tmp_path / "data.txt", tmp_path / "labels.txt")
    np.savetxt(tmp_path / "labels.txt", np.array([[0.5, 0.5, 0], [1, 0, 0]]))
    with pytest.raises(ValueError, match="row 0 has 0.5"):
        load_q1(tmp_path / "data.txt", tmp_path / "labels.txt")


def test_nan_logits(tmp_path):
    (tmp_path / "data.txt").write_text("1 2 nan\n4 5 6\n")
    np.savetxt(tmp_path / "labels.txt", np.eye(3)[:2], fmt="%d")
    with pytest.raises(ValueError, match=r"data\.txt: logits should be finite but has nan at index \(0, 2\)"):
        load_q1(tmp_path / "data.txt", tmp_path / "labels.txt")


def test_shape_mismatch_and_text_garbage(tmp_path):
    np.savetxt(tmp_path / "data.txt", np.ones((2, 3)))
    np.savetxt(tmp_path / "labels.txt", np.eye(3), fmt="%d")
    with pytest.raises(ValueError, match="shape"):
        load_q1(tmp_path / "data.txt", tmp_path / "labels.txt")
    (tmp_path / "data.txt").write_text("1 2 x\n")
    with pytest.raises(ValueError, match="could not be read"):
        load_q1(tmp_path / "data.txt", tmp_path / "labels.txt")


def test_truncated_npz(tmp_path):
    np.savez(tmp_path / "a.npz", array1=np.ones((100, 3)))
    raw = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "a.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"a\.npz: could not be read as an npz"):
        load_cloud(tmp_path / "a.npz")


@pytest.mark.parametrize("make, msg", [
    (lambda p: Image.new("L", (28, 27)).save(p), "28x28"),
    (lambda p: Image.new("RGB", (28, 28)).save(p), "grayscale"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\nnot really"), "not a readable image"),
])
def test_bad_images(tmp_path, make, msg):
    p = tmp_path / "I0.png"
    make(p)
    with pytest.raises(ValueError, match=msg):
        load_image(p)


def test_duplicate_files_refused(tmp_path, standin_dir):
    shutil.copytree(standin_dir, tmp_path / "d")
    (tmp_path / "d" / "extra").mkdir()
    shutil.copy(standin_dir / "Q1" / "data.txt", tmp_path / "d" / "extra" / "data.txt")
    with pytest.raises(ValueError, match="appears 2 times"):
        find_quiz_files(tmp_path / "d")
