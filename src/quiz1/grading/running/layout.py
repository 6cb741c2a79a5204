"""A student's zip as it really arrives: unwrap it, name what is wrong, keep going.

Tolerant on what a careful TA would shrug at (a single top folder from
right-click -> compress, ``__MACOSX/``, ``.DS_Store``, ``.ipynb_checkpoints/``,
``A0123456X_downloaded.zip``, a lower-case id), each said as a *warning*; strict
on what the quiz asks (``Q_1/ Q_4/ Q_5/ Q_6/``, the data inside them, one notebook
named by the student id), each said as a *problem* in one sentence. Only a file
that is not a readable zip stops the grading (``ValueError``).
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ...data.loaders import FOLDERS, QUIZ_FILES, safe_extract

ID_IN_NAME = re.compile(r"(?<![A-Za-z0-9])(a\d{7}[a-z])(?![a-z0-9])", re.I)
LITTER = re.compile(r"^(__MACOSX|\.DS_Store|\.ipynb_checkpoints|__pycache__|Thumbs\.db|desktop\.ini|\._.*)$")


@dataclass(frozen=True)
class Layout:
    """Where things are in an extracted submission, and what is wrong with it."""

    root: Path                   # the submission's folder (a single top folder unwrapped)
    student_id: str | None       # upper case, e.g. A0123456X
    notebooks: tuple             # paths of the notebooks to run, the id-named one first
    problems: tuple
    warnings: tuple


def _id_from(name: str, what: str, warnings: list) -> str | None:
    m = ID_IN_NAME.search(name)
    if not m:
        return None
    sid = m.group(1).upper()
    stem = name.rsplit(".", 1)[0]
    if stem != sid:
        warnings.append(f"{what} '{name}' is not exactly <student id>.{name.rsplit('.', 1)[-1]}; read the id as {sid}")
    return sid


def extract_submission(zip_path: str | Path, dest: str | Path) -> Layout:
    """Safely extract ``zip_path`` into ``dest`` and read its layout (``ValueError`` only for an unreadable zip)."""
    zip_path, dest = Path(zip_path), Path(dest)
    if not zip_path.is_file():
        raise ValueError(f"{zip_path}: no such file")
    safe_extract(zip_path, dest)
    problems, warnings = [], []

    litter = sorted({p.relative_to(dest).as_posix() for p in dest.rglob("*") if LITTER.match(p.name)})
    for rel in litter:
        p = dest / rel
        if p.exists():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    if litter:
        tops = sorted({r.split("/")[0] if r.split("/")[0] in ("__MACOSX",) else r for r in litter})
        warnings.append(f"ignored operating-system and editor litter: {', '.join(tops[:6])}"
                        + (f" and {len(tops) - 6} more" if len(tops) > 6 else ""))

    root = dest
    entries = list(root.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and entries[0].name not in FOLDERS:
        root = entries[0]
        warnings.append(f"everything sits in one top folder '{root.name}/'; graded from inside it")

    zip_id = _id_from(zip_path.name, "zip name", warnings)
    if zip_id is None:
        problems.append(f"the zip name '{zip_path.name}' holds no student id (expected e.g. A0123456X.zip)")

    notebooks = sorted(p for p in root.rglob("*.ipynb"))
    top_level = [p for p in notebooks if p.parent == root]
    nb_id = None
    if not notebooks:
        problems.append("no notebook (.ipynb) in the zip")
    else:
        named = [p for p in notebooks if ID_IN_NAME.search(p.name)]
        exact = [p for p in top_level if ID_IN_NAME.fullmatch(p.stem)]     # A0123456X.ipynb before A0123456X-extra.ipynb
        main = next(iter(exact), None) or next((p for p in top_level if p in named), None) or (
            named[0] if named else notebooks[0])
        notebooks = [main] + [p for p in notebooks if p != main]
        if len(notebooks) > 1:
            problems.append(f"{len(notebooks)} notebooks where the quiz asks for one "
                            f"({', '.join(p.relative_to(root).as_posix() for p in notebooks)}); all were run and graded together")
        if main.parent != root:
            problems.append(f"the notebook '{main.relative_to(root).as_posix()}' is not at the top of the zip")
        nb_id = _id_from(main.name, "notebook name", warnings) if main in named else None
        if nb_id is None:
            problems.append(f"the notebook '{main.name}' is not named by the student id (expected e.g. A0123456X.ipynb)")
    if zip_id and nb_id and zip_id != nb_id:
        problems.append(f"the zip says {zip_id} but the notebook says {nb_id}")

    for sub in FOLDERS:
        if not (root / sub).is_dir():
            problems.append(f"folder {sub}/ is missing")
    for name, sub in QUIZ_FILES.items():
        if (root / sub).is_dir() and not any((root / sub).rglob(name)):
            problems.append(f"{sub}/{name} is missing")
    extra = sorted(p.name for p in root.iterdir() if p.name not in FOLDERS and p not in notebooks)
    if extra:
        warnings.append(f"extra entries at the top of the zip: {', '.join(extra[:8])}" + (" ..." if len(extra) > 8 else ""))
    return Layout(root, zip_id or nb_id, tuple(notebooks), tuple(problems), tuple(warnings))


def find_data_file(root: Path, name: str) -> Path | None:
    """The quiz file ``name`` in its ``Q_x`` folder (anywhere below it), else anywhere in the submission."""
    sub = QUIZ_FILES.get(name, "Q_6")
    for base in (root / sub, root):
        hits = sorted(base.rglob(name)) if base.is_dir() else []
        if hits:
            return hits[0]
    return None
