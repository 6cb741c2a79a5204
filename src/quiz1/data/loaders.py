"""Find, validate and load the quiz's data files from a folder or a ``.zip``.

Every file is found by its quiz name anywhere inside the input (the layout of
``Quizz_data.zip`` is not assumed), checked, and returned as a typed object.
Every failure is a ``ValueError`` whose message is one sentence naming the
file and what was wrong, so the CLI can print it as it is and exit 2.

Zip extraction is written by hand rather than with ``ZipFile.extractall``
because the standard library only *sanitises* dangerous member names; we want
to *refuse* an archive that has them (absolute paths, ``..``, links, or a
decompressed size over a cap), with a sentence saying which entry.
"""
from __future__ import annotations

import contextlib
import gzip
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

#: quiz file name -> folder of the submission it belongs to
QUIZ_FILES: dict[str, str] = {
    "data.txt": "Q_1",
    "labels.txt": "Q_1",
    "Q1Q4I1.txt": "Q_4",
    "Q1Q4I2.npz": "Q_4",
    "Q1Q4I3.npz": "Q_4",
    "xy.npz": "Q_5",
    "ab.npz": "Q_5",
    "I0.png": "Q_6",
    "I1.png": "Q_6",
}
OPTIONAL_FILES: dict[str, str] = {"model.pth": "Q_6"}
#: the submission's data folders, as the quiz names them
FOLDERS: tuple[str, ...] = tuple(sorted(set(QUIZ_FILES.values())))

#: fewest points in each Q5 set (xy.npz, ab.npz) the solver can order along a curve
Q5_MIN_POINTS = 10
#: largest total uncompressed size accepted from a zip (bytes)
ZIP_SIZE_CAP = 1 << 30
ZIP_ENTRY_CAP = 10_000


@dataclass(frozen=True)
class Q1Data:
    """Logits ``(N, M)`` float64 and one-hot labels ``(N, M)`` float64."""

    logits: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Q5Data:
    """``xy`` and ``ab`` as stored: each ``(2, N)`` float64."""

    xy: np.ndarray
    ab: np.ndarray


@dataclass(frozen=True)
class Q6Data:
    """The two 28x28 uint8 images and the path of ``model.pth`` if one was given."""

    i0: np.ndarray
    i1: np.ndarray
    model: Path | None


@dataclass(frozen=True)
class QuizData:
    """Everything the quiz needs, validated; ``files`` maps quiz name -> path."""

    files: dict[str, Path]
    q1: Q1Data
    q4: dict[str, np.ndarray]
    q5: Q5Data
    q6: Q6Data


# --------------------------------------------------------------------------
# input: folder or zip


def _check_zip_member(archive: Path, info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ValueError(f"{archive}: entry '{name}' has an absolute path; refusing to extract it")
    if ".." in parts:
        raise ValueError(f"{archive}: entry '{name}' points outside the archive folder ('..'); refusing to extract it")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ValueError(f"{archive}: entry '{name}' is a symbolic link; refusing to extract it")


def safe_extract(archive: str | Path, dest: str | Path) -> Path:
    """Extract ``archive`` into ``dest`` after checking every entry; return ``dest``.

    Refuses absolute names, ``..`` components, symbolic links, more than
    ``ZIP_ENTRY_CAP`` entries and more than ``ZIP_SIZE_CAP`` bytes in all.
    """
    archive, dest = Path(archive), Path(dest)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{archive}: not a readable zip file ({e})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > ZIP_ENTRY_CAP:
            raise ValueError(f"{archive}: has {len(infos)} entries, more than the {ZIP_ENTRY_CAP} accepted")
        total = 0
        for info in infos:
            _check_zip_member(archive, info)
            total += info.file_size
        if total > ZIP_SIZE_CAP:
            raise ValueError(f"{archive}: unpacks to {total} bytes, more than the {ZIP_SIZE_CAP} accepted")
        for info in infos:
            target = dest / PurePosixPath(info.filename.replace("\\", "/"))
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    out.write(src.read(info.file_size + 1))
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise ValueError(f"{archive}: entry '{info.filename}' is damaged ({e})") from None
    return dest


@contextlib.contextmanager
def opened_input(path: str | Path) -> Iterator[Path]:
    """Yield a folder holding the input: ``path`` itself, or a zip safely extracted."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    if path.is_dir():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="quiz1-in-") as tmp:
        try:
            yield safe_extract(path, tmp)
        except ValueError as e:  # name the file as "archive.zip:inner/path", not the temporary folder
            raise ValueError(str(e).replace(f"{tmp}/", f"{path}:").replace(str(tmp), str(path))) from None


def find_quiz_files(root: str | Path, *, required=QUIZ_FILES, optional=OPTIONAL_FILES) -> dict[str, Path]:
    """Map every quiz file name to its one path below ``root`` (macOS ``__MACOSX`` ignored)."""
    root = Path(root)
    wanted = set(required) | set(optional)
    found: dict[str, list[Path]] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name in wanted and "__MACOSX" not in p.parts:
            found.setdefault(p.name, []).append(p)
    for name, paths in found.items():
        if len(paths) > 1:
            where = ", ".join(str(p.relative_to(root)) for p in paths)
            raise ValueError(f"{root}: '{name}' appears {len(paths)} times ({where}); keep exactly one")
    missing = [n for n in required if n not in found]
    if missing:
        raise ValueError(f"{root}: required quiz file(s) {', '.join(missing)} not found anywhere inside")
    return {name: paths[0] for name, paths in found.items()}


# --------------------------------------------------------------------------
# single files


def _finite(path: Path, field: str, a: np.ndarray) -> np.ndarray:
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{path}: {field} should be numeric but has dtype {a.dtype}")
    a = a.astype(np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{path}: {field} should be finite but has {a[idx]} at index {idx} ({int(bad.sum())} such values)")
    return a


def load_text_matrix(path: str | Path, field: str = "values") -> np.ndarray:
    """Read a whitespace-separated numeric matrix ``(N, M)`` float64 from a text file."""
    path = Path(path)
    try:
        a = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (ValueError, OSError) as e:
        raise ValueError(f"{path}: {field} could not be read as a whitespace-separated number table ({str(e).splitlines()[0]})") from None
    if a.size == 0:
        raise ValueError(f"{path}: {field} should be a non-empty number table but the file is empty")
    return _finite(path, field, a)


def load_npz_array(path: str | Path, key: str | None = None) -> np.ndarray:
    """Read array ``key`` (or, when absent, the file's only/first array) from an ``.npz`` file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.files)
            if not keys:
                raise ValueError(f"{path}: npz should hold an array but holds none")
            k = key if key in keys else keys[0]
            a = z[k]
    except ValueError as e:
        if str(e).startswith(str(path)):
            raise
        raise ValueError(f"{path}: could not be read as an npz archive ({e})") from None
    except (OSError, EOFError, KeyError) as e:
        raise ValueError(f"{path}: could not be read as an npz archive ({e.__class__.__name__}: {e})") from None
    except Exception as e:  # zipfile.BadZipFile and friends from a truncated file
        raise ValueError(f"{path}: could not be read as an npz archive; it looks truncated or damaged "
                         f"({e.__class__.__name__}: {e})") from None
    return _finite(path, f"array '{k}'", a)


def load_cloud(path: str | Path) -> np.ndarray:
    """Point cloud ``(n, D)`` float64 from ``.txt`` or ``.npz`` (key ``array1``, else the first)."""
    path = Path(path)
    a = load_npz_array(path, "array1") if path.suffix == ".npz" else load_text_matrix(path, "point cloud")
    if a.ndim != 2:
        raise ValueError(f"{path}: point cloud should be a 2-D array (points x coordinates) but has shape {a.shape}")
    return a


def load_q1(data_path: str | Path, labels_path: str | Path) -> Q1Data:
    """Logits and one-hot labels, checked to agree in shape with each row one-hot."""
    data_path, labels_path = Path(data_path), Path(labels_path)
    z = load_text_matrix(data_path, "logits")
    y = load_text_matrix(labels_path, "labels")
    if y.shape != z.shape:
        raise ValueError(f"{labels_path}: labels should have the logits' shape {z.shape} but have shape {y.shape}")
    not_binary = ~np.isin(y, (0.0, 1.0))
    if not_binary.any():
        r, c = (int(i) for i in np.argwhere(not_binary)[0])
        raise ValueError(f"{labels_path}: labels should be one-hot (0 or 1) but row {r} has {y[r, c]} in column {c}")
    sums = y.sum(axis=1)
    if (sums != 1).any():
        r = int(np.flatnonzero(sums != 1)[0])
        raise ValueError(f"{labels_path}: labels should be one-hot but row {r} has {int(sums[r])} ones")
    return Q1Data(logits=z, labels=y)


def load_pair_set(path: str | Path, name: str) -> np.ndarray:
    """A Q5 set ``(2, N)`` float64 (npz key ``arr_0``, else the first array)."""
    path = Path(path)
    a = load_npz_array(path, "arr_0")
    if a.ndim != 2 or a.shape[0] != 2:
        raise ValueError(f"{path}: {name} should have shape (2, N) but has shape {a.shape}")
    return a


def load_image(path: str | Path) -> np.ndarray:
    """A 28x28 8-bit grayscale PNG as a ``(28, 28)`` uint8 array."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            mode, size = im.mode, im.size
            a = np.array(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"{path}: not a readable image ({e.__class__.__name__}: {e})") from None
    if mode != "L":
        raise ValueError(f"{path}: image should be 8-bit grayscale (mode 'L') but is mode '{mode}'")
    if size != (28, 28):
        raise ValueError(f"{path}: image should be 28x28 pixels but is {size[0]}x{size[1]}")
    return a.astype(np.uint8)


def load_quiz_data(root: str | Path) -> QuizData:
    """Find and validate every quiz file below the folder ``root``."""
    files = find_quiz_files(root)
    q1 = load_q1(files["data.txt"], files["labels.txt"])
    q4 = {n: load_cloud(files[n]) for n in ("Q1Q4I1.txt", "Q1Q4I2.npz", "Q1Q4I3.npz")}
    xy, ab = load_pair_set(files["xy.npz"], "xy"), load_pair_set(files["ab.npz"], "ab")
    for name, arr in (("xy.npz", xy), ("ab.npz", ab)):
        if arr.shape[1] < Q5_MIN_POINTS:  # the Q5 solver needs this many to order a curve
            raise ValueError(f"{files[name]}: should hold at least {Q5_MIN_POINTS} points but holds {arr.shape[1]}")
    q6 = Q6Data(load_image(files["I0.png"]), load_image(files["I1.png"]), files.get("model.pth"))
    return QuizData(files=files, q1=q1, q4=q4, q5=Q5Data(xy, ab), q6=q6)


def figure1_dot() -> str:
    """The torchviz DOT of the quiz's Figure 1, transcribed by hand from the figure (package file figure1.dot)."""
    from importlib.resources import files

    return files("quiz1.data").joinpath("figure1.dot").read_text()


# --------------------------------------------------------------------------
# MNIST IDX files


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: could not be read as an IDX file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: should start with the IDX magic for unsigned bytes (00 00 08 ..) but does not")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says shape {tuple(dims)} but the file holds {data.size} values")
    return data.reshape(dims)


def load_mnist(folder: str | Path, split: str = "t10k") -> tuple[np.ndarray, np.ndarray]:
    """MNIST images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 from IDX files (gzip or not)."""
    folder = Path(folder)
    out = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        cands = [folder / f"{split}-{kind}{ext}" for ext in (".gz", "")]
        path = next((c for c in cands if c.exists()), None)
        if path is None:
            raise ValueError(f"{folder}: MNIST file {split}-{kind}(.gz) not found")
        out.append(_read_idx(path))
    images, labels = out
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise ValueError(f"{folder}: MNIST images {images.shape} and labels {labels.shape} do not match")
    return images, labels.astype(np.int64)
