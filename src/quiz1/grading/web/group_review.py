"""Answer groups in ``quiz1 review``: a question's groups, one group's members side by side, marked in one action.

``/groups/{q}`` lists ``q``'s groups (``groups.groups``: proposed from ``OUTDIR/*.json``, the TAs' moves and merges
applied), the ones a TA must mark first (``unverified``, or ``mixed`` after a move), then the machine-decided ones
(``correct``, ``wrong``, ...) a TA can spot-check, largest first in each; each with its label, size, status and how
many of its members a TA has marked. ``/group/{q}/{token}`` (``token``: the group's key in URL-safe base64) shows the
members' evidence side by side, each collapsed to the part that matters (the cells the grader cites, else the
section's formulas and outputs; the whole section one click away), rendered by the item page's own ``cell_html``
(Markdown through ``nh3``, code and text escaped). The question's rubric items are buttons with the item page's keys;
one key applies the items (plus the adjustment, and the comment if one is typed) to every member at once.

The writes, each behind the review app's ``same_origin_writes`` (JSON, this page's ``Origin``, the server's token):

- ``/api/group/items``: the items to every member, each through ``gradebook.apply_items`` with the version the page
  saw, in one transaction; a member saved since (by another TA, or an item edit) is reported, not overwritten, as is
  a member that joined or left the group since the page was opened.
- ``/api/group/move``: one member out of its group, alone or into another (``groups.move``).
- ``/api/group/merge``: another group into this one (``groups.merge``).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from contextlib import closing
from pathlib import Path

import nbformat

from ..marks import gradebook, groups
from ..marks.gradebook import COMMENT_MAX, MACHINE, StaleMark, waiting
from ..questions import by_name, content, figure
from ..questions import names as question_names
from ..reading.sections import cell_questions
from .review import ITEM_KEYS, cell_html

SHOWN = 24                 # members whose sections a group page renders (the rest: evidence and a link), unless ?all=1
KEY_CELLS = 4              # at most this many cells shown open per member when the grader cites none
FIRST = ("unverified", groups.MIXED)   # the statuses a TA must mark, listed first
CITED = re.compile(r"In \[(\d+)\]")
MATHY = re.compile(r"\$|\\\[|\\\(|\\begin\{")
STEM = re.compile(r"[\w~-][\w.~-]*")     # a zip's stem as ``quiz1 grade`` names OUTDIR/<stem>.json


def key_token(key: str) -> str:
    """A group's key as a URL path segment (URL-safe base64, no padding)."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def key_of_token(token: str) -> str | None:
    """The key of ``key_token``'s ``token``, or None when it is not one."""
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def ordered(gs: list) -> list:
    """Groups as the groups page lists them: the ones a TA must mark first, then largest first."""
    return sorted(gs, key=lambda g: (g.status not in FIRST, -len(g.members), g.status, g.key))


def _cells(nb_path: Path, question: str):
    """(the notebook's cells, the section's cells), or None when the notebook cannot be read."""
    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:  # noqa: BLE001 -- a missing or broken notebook is said, not raised
        return None
    q = int(question[1:])
    return nb.cells, [c for c, qs in zip(nb.cells, cell_questions(nb, content(), nb_path.stem)) if q in qs]


def collapsed(nb_path: Path, question: str, evidence: dict) -> dict:
    """One member's section as the group page shows it: {"key": safe HTML of the part that matters, "why": what that
    part is, "whole": safe HTML of the whole section, "n": its cells}.

    The part that matters: the code cells the grader's evidence cites ("In [4]"), wherever they are; else the
    section's last few cells with a formula or an output (where an answer is written or printed)."""
    got = _cells(nb_path, question)
    if got is None:
        return {"key": "", "why": "the executed notebook is not in the output folder", "whole": "", "n": 0}
    every, section = got
    text = " ".join(str(evidence.get(k) or "") for k in ("found", "note"))
    cited = {int(n) for n in CITED.findall(text)}
    key = [c for c in every if c.cell_type == "code" and c.get("execution_count") in cited]
    why = "the cell the grader read" if len(key) == 1 else "the cells the grader read"
    if not key:
        key = [c for c in section if (c.cell_type == "markdown" and MATHY.search(c.source))
               or (c.cell_type == "code" and c.get("outputs"))][-KEY_CELLS:]
        why = "the section's formulas and outputs" if key else "no formula or output in the section"
    if not section:
        why = "no section for this question was found" + (f"; {why}" if key else "")
    return {"key": "\n".join(cell_html(c) for c in key), "why": why, "whole": "\n".join(cell_html(c) for c in section),
            "n": len(section)}


def _question(q) -> str:
    if q not in question_names():
        raise ValueError(f"question: expected one of {', '.join(question_names())} but found {json.dumps(q)[:40]}")
    return q


def _text(field: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field}: expected a non-empty string but found {json.dumps(value)[:60]}")
    return value


def mark_group(out: Path, question: str, key: str, versions: dict, items: list, adjustment, comment, by) -> dict:
    """``items`` (plus ``adjustment``, and ``comment`` unless None) applied to every member of ``question``'s group
    ``key`` that ``versions`` ({stem: the version the TA saw}) names, through ``gradebook.apply_items``, in one
    transaction: a refusal (an unknown item, a bad name) saves nothing; a member saved since is left as it is.

    Returns {"applied": [{"stem", "version", "marks", "items"}], "stale": [{"stem", "error"}], "skipped": [{"stem",
    "why"}]} (skipped: left the group, joined it, or not in the gradebook since the page was opened). ``StaleMark``
    when the group is no more (merged away or emptied)."""
    _question(question)
    _text("key", key)
    if not isinstance(versions, dict) or not versions:
        raise ValueError(f"versions: expected {{stem: version}} of the members but found {json.dumps(versions)[:60]}")
    g = next((g for g in groups.groups(out, question) if g.key == key), None)
    if g is None:
        raise StaleMark(f"{question}: not saved: this group is no more (merged or emptied since you opened it); "
                        f"reload the groups page")
    members = set(g.members)
    skipped = [{"stem": s, "why": "left this group since you opened it: not marked"} for s in sorted(set(versions) - members)]
    skipped += [{"stem": s, "why": "joined this group since you opened it: not marked"}
                for s in sorted(members - set(versions))]
    applied, stale = [], []
    with closing(gradebook.connect(out)) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            for stem in sorted(members & set(versions)):
                if gradebook.item(db, stem, question) is None:
                    skipped.append({"stem": stem, "why": "not in the gradebook (graded after the class was recorded?)"})
                    continue
                try:
                    v = gradebook.apply_items(db, stem, question, items, adjustment, comment, by, versions[stem])
                except StaleMark as e:
                    stale.append({"stem": stem, "error": str(e)})
                    continue
                it = gradebook.item(db, stem, question)
                applied.append({"stem": stem, "version": v, "marks": it["marks"], "items": it["applied"]})
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return {"applied": applied, "stale": stale, "skipped": skipped}


def move_member(out: Path, question: str, stem: str, key: str, to: str | None, by) -> groups.Group:
    """``stem`` out of its group ``key`` (the one the TA saw) into the group ``to`` (a current group's key) or alone
    (None); the group it is in after. ``StaleMark`` when it is no longer in ``key``."""
    _question(question)
    _text("stem", stem)
    _text("key", key)
    by = gradebook._check_by(by, f"{stem} {question} move")
    gs = groups.groups(out, question)
    now = next((g for g in gs if stem in g.members), None)
    if now is None:
        raise ValueError(f"stem: expected a member of one of {question}'s groups but found {json.dumps(stem)[:60]}")
    if now.key != key:
        raise StaleMark(f"{stem} {question}: not moved: it left this group since you opened it (it is in "
                        f"\"{now.label[:80]}\" now); reload")
    if to is not None:
        _text("to", to)
        if to == key or to not in {g.key for g in gs}:
            raise ValueError(f"to: expected the key of another of {question}'s groups, or null (alone), but found "
                             f"{json.dumps(to)[:60]}")
    elif now.alone:
        raise ValueError(f"{stem} {question}: not moved: it is alone already")
    groups.move(out, question, stem, to, by=by)
    return next(g for g in groups.groups(out, question) if stem in g.members)


def merge_groups(out: Path, question: str, key: str, other: str, by) -> groups.Group:
    """Every member of group ``other`` into group ``key`` (both current groups of ``question``); the group after."""
    _question(question)
    by = gradebook._check_by(by, f"{question} merge")
    keys = {g.key for g in groups.groups(out, question)}
    for field, k in (("key", key), ("other", other)):
        if _text(field, k) not in keys:
            raise StaleMark(f"{question}: not merged: a group you chose is no more (merged or emptied since you "
                            f"opened the page); reload")
    if key == other:
        raise ValueError(f"{question}: not merged: expected another group but found this one")
    groups.merge(out, question, key, other, by=by)
    return next(g for g in groups.groups(out, question) if g.key == key)


def group_routes(out: Path, rubric, page, write, fields) -> list:
    """The routes of the groups pages and their writes, for ``review.make_app`` (``page``, ``write`` and ``fields``
    are its own: the CSP'd page, the JSON endpoint and the request's checked fields)."""
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    def marked(question: str) -> dict:
        return {it["stem"]: it for it in gradebook.items(out) if it["question"] == question}

    def summary(g, its: dict) -> dict:
        mine = [its[s] for s in g.members if s in its]
        return {"group": g, "token": key_token(g.key), "size": len(g.members),
                "by_ta": sum(it["marked_by"] not in (None, MACHINE) for it in mine),
                "waiting": sum(waiting(it) for it in mine)}

    async def groups_page(request):
        q = request.path_params["q"]
        if q not in question_names():
            return HTMLResponse("no such question", status_code=404)
        its = marked(q)
        rows = [summary(g, its) for g in ordered(groups.groups(out, q))]
        return page("review_groups.html.j2", q=q, question=rubric.questions[q], questions=question_names(), rows=rows,
                    first=FIRST)

    async def group_page(request):
        q, key = request.path_params["q"], key_of_token(request.path_params["token"])
        if q not in question_names() or key is None:
            return HTMLResponse("no such group", status_code=404)
        reports = groups.reports_in(out)
        gs = ordered(groups.groups(out, q, reports))
        k = next((n for n, g in enumerate(gs) if g.key == key), None)
        if k is None:
            return HTMLResponse(f"<p>This group of {q} is no more (merged or emptied). "
                                f"<a href='/groups/{q}'>The groups of {q}</a></p>", status_code=404)
        g, its = gs[k], marked(q)
        everything = request.query_params.get("all") == "1"
        drawn = hasattr(by_name(q), "figure")         # its picture for each member, served by /figure (lazily)
        members = []
        for n, stem in enumerate(g.members):
            it = its.get(stem)
            evidence = json.loads(it["evidence"]) if it else {
                k2: (reports[stem]["questions"][q] or {}).get(k2) for k2 in ("found", "expected", "note")}
            members.append({"stem": stem, "it": it, "evidence": evidence,
                            "section": collapsed(out / f"{stem}.ipynb", q, evidence) if everything or n < SHOWN else None,
                            "figure": drawn and bool((reports[stem].get("measures") or {}).get(q))})
        applied = {tuple(m["it"]["applied"]) for m in members if m["it"]}
        ritems = [{"id": r["id"], "text": r["text"], "points": r["points"], "by": r["by"],
                   "key": ITEM_KEYS[n] if n < len(ITEM_KEYS) else None}
                  for n, r in enumerate(gradebook.rubric_items(out, q))]
        return page("review_group.html.j2", q=q, question=rubric.questions[q], g=summary(g, its), members=members,
                    expected=next((m["evidence"].get("expected") for m in members if m["evidence"].get("expected")), None),
                    others=[summary(o, its) for o in gs if o.key != g.key], position=k + 1, count=len(gs),
                    prev_token=key_token(gs[k - 1].key) if k > 0 else None,
                    next_token=key_token(gs[k + 1].key) if k < len(gs) - 1 else None,
                    common=list(applied.pop()) if len(applied) == 1 else [], rubric_items=ritems,
                    versions={m["stem"]: m["it"]["version"] for m in members if m["it"]},
                    max_marks=rubric.questions[q].marks, comment_max=COMMENT_MAX, shown=SHOWN, everything=everything)

    async def figure_png(request):
        """``/figure/{stem}/{q}.png``: what ``q``'s module draws from ``OUTDIR/<stem>.json`` (``questions.figure``:
        Q5's model over f, Q6's changes), as a PNG; 404 when it draws nothing there (a correct answer, no measures)."""
        q, stem = request.path_params["q"], request.path_params["stem"]
        path = out / f"{stem}.json"
        try:
            report = json.loads(path.read_text()) if q in question_names() and STEM.fullmatch(stem) else {}
        except (OSError, ValueError):
            report = {}
        got = figure(report, q) if isinstance(report, dict) and q in question_names() else None
        if got is None or not got[1].startswith("data:image/png;base64,"):
            return Response("no figure", status_code=404, media_type="text/plain")
        return Response(base64.b64decode(got[1].split(",", 1)[1]), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"})

    async def items_api(request):
        """{question, key, versions, items, by[, adjustment][, comment]}: ``mark_group``."""
        body = await fields(request, ("question", "key", "versions", "items", "by"))
        return mark_group(out, body["question"], body["key"], body["versions"], body["items"], body.get("adjustment"),
                          body.get("comment"), body["by"])

    async def move_api(request):
        """{question, stem, key, to, by}: ``move_member`` (``to`` null: alone)."""
        body = await fields(request, ("question", "stem", "key", "to", "by"))
        g = move_member(out, body["question"], body["stem"], body["key"], body["to"], body["by"])
        return {"key": g.key, "token": key_token(g.key), "members": list(g.members)}

    async def merge_api(request):
        """{question, key, other, by}: ``merge_groups``."""
        body = await fields(request, ("question", "key", "other", "by"))
        g = merge_groups(out, body["question"], body["key"], body["other"], body["by"])
        return {"key": g.key, "token": key_token(g.key), "members": list(g.members)}

    return [Route("/groups/{q}", groups_page), Route("/group/{q}/{token}", group_page),
            Route("/figure/{stem}/{q}.png", figure_png),
            Route("/api/group/items", write(items_api), methods=["POST"]),
            Route("/api/group/move", write(move_api), methods=["POST"]),
            Route("/api/group/merge", write(merge_api), methods=["POST"])]
