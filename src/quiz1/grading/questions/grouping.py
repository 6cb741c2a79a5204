"""What the questions' ``group_key`` hooks share: a verdict's reason with its places and numbers aside, keys of a
value and a reason, bands.

A hook's key is equal for two students exactly when their evidence is the same (``marks.groups`` puts them in one
group, for a TA to mark once). It names the status first ("unverified: ..."), so items of two statuses never share a
key, and never starts with "alone" (``marks.groups``'s key of an item left alone).
"""
from __future__ import annotations

import hashlib
import re

# where a value was printed ("(A0123456X.ipynb In [5])", "(nb cell 12)"), as ``shared_wrong`` drops it
PLACE = re.compile(r"\s*\([^()]*\b(?:In \[\d*\]|cell \d+)\)")
PATH = re.compile(r"(?<![\w/])[\w.-]*(?:/[\w.-]+)*\.(?:png|ipynb|py|txt|npz|pth|npy)\b")
HEX = re.compile(r"\b0x[0-9a-fA-F]+\b")
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?%?(?!\w)")   # not a
# name's digits (I0, L2, a "28x28" size): a number glued to a letter on either side is a name, and stays


def reason(note: str | None, names: re.Pattern | None = None) -> str:
    """``note`` as the reason it gives, the same for two students who get it for the same reason: without where
    values were printed, file paths, memory addresses, with "…" for each number (the variant data, the xinit drawn,
    the other bare values differ from student to student); ``names``: where the note names the student's own
    variable or class (Q2's "the notebook's `out`"), "`…`" too (other names are evidence: the library function Q1
    called)."""
    if not note:
        return ""
    t = PLACE.sub("", note)
    t = PATH.sub("<file>", t)
    t = names.sub("`…`", t) if names is not None else t
    t = HEX.sub("…", t)
    t = NUMBER.sub("…", t)
    return re.sub(r"\s+", " ", t).strip()


def digest(text: str, n: int = 10) -> str:
    """A short fingerprint of ``text`` (BLAKE2b, ``n`` hex digits): equal texts, equal digests."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()[:n]


def value_key(item: dict, value: str | None, names: re.Pattern | None = None) -> str | None:
    """"<status>: <value> | why <digest of the reason>" for an item showing ``value`` (already normalised by its
    question); with no value, "<status>: nothing shown | why ..." for a machine-decided ``missing``/``error`` (the
    same reason, the same group), None otherwise (nothing machine-readable: the item stays alone); ``names`` as for
    ``reason``."""
    status = item.get("status")
    if not status:
        return None
    why = reason(item.get("note"), names)
    if value is None:
        if status not in ("missing", "error"):
            return None
        value = "nothing read"
    return f"{status}: {value}" + (f" | why {digest(why)}" if why else "")


def value_label(item: dict, value: str | None, names: re.Pattern | None = None) -> str:
    """What the members of ``value_key``'s group share, in words: the value and the reason."""
    why = reason(item.get("note"), names)
    return f"{item.get('status')}: {value or 'nothing read'}" + (f"; {why}" if why else "")


def band(x: float | None, edges: tuple, names: tuple, none: str = "not measured") -> str:
    """The name of the band of ``x``: ``names[k]`` for the first ``edges[k]`` with x <= edges[k], else the last name;
    ``none`` for None."""
    if x is None:
        return none
    for edge, name in zip(edges, names):
        if x <= edge:
            return name
    return names[-1]
