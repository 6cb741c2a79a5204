"""``quiz1 review OUTDIR``: a local web page where TAs mark what the machine could not, question by question.

Starlette + Jinja2, served by uvicorn on 127.0.0.1. The queue lists the items that need a human (a verdict the
rubric leaves to a human, or flagged because the verdict changed under a TA's mark), all the Q3s, then all the Q4s,
as Gradescope orders them, with filters and a progress count. An item shows the student's section of the executed
notebook as a TA reads it (Markdown with LaTeX for the local MathJax, code, outputs, images), the grader's evidence,
the reference and the rubric, and a mark and comment saved at once through ``gradebook.set_mark`` (a stale version is
refused with HTTP 409 and says so). The question's rubric items are buttons, each with a key: pressing it applies
or removes the item and saves the mark they make (``gradebook.apply_items``: the items' points plus an adjustment,
clipped to [0, marks]); an item's points or text are edited, and items added, from the page (``gradebook.edit_item``,
which re-computes every mark that uses the item; ``gradebook.add_item``). Keys (only while no field has focus): a
digit sets and saves that mark (a number: no item), a letter shown on an item applies or removes it, ``j``/``k``
next/previous, ``c`` the comment. The page asks the TA's name once (kept in the browser) before any key
marks anything, sends one save at a time per item (a later press waits and replaces, never races), writes only what
the TA changed (opening, viewing, ``c`` then Esc write nothing), saves a typed mark on Enter or on leaving the field,
and warns before the page is left with input not saved.

Working a whole class: the queue shows by default only what is not yet reviewed (an item a TA has marked leaves it;
``?reviewed=1``, a link, shows them too), with counts per question and, for the question chosen, per answer group
(``groups.groups``; ``?group=KEY`` lists one group's items). Its ``j`` opens the item where this TA last was (or the
first after it, once that one is marked): each item page keeps its place in the browser's ``localStorage`` under
``quiz1-last:<the TA's name>``, never in the gradebook, so that opening an item writes nothing to the server.
``/student/{stem}`` is one submission whole: the seven answers with the evidence, each mark with its rubric items
and comment, the total, and the executed notebook (sanitised as an item's section is); ``/student?id=...`` finds one
by student id, zip or stem (one match: redirected to it). ``/report`` is ``report.html`` made from the gradebook at
each request (``batch.class_page``), with the class summary at the pass mark ``?pass=MARK`` (default: half the
rubric's base marks, ``summary.default_pass_mark``).

No other web page can write a mark: the server answers only to the ``Host`` names of this machine
(``TrustedHostMiddleware``: a DNS-rebinding page under another name gets 400), and ``same_origin_writes`` refuses
with 403 any state-changing request that does not come from this page: its ``Origin`` must be the server's own, its
body JSON (``Content-Type: application/json``, which a cross-origin form cannot send and a cross-origin ``fetch`` may
send only after a preflight this server does not grant), and its ``X-Quiz1-Token`` header the secret drawn when the
server started, which only a page it served holds. The check is written here because Starlette has none for
CSRF. Each of the three alone stops a page of another origin; a page on a rebound name is the server's own origin to
the browser (it could read the token), and the ``Host`` check is what stops it.

Nothing a student wrote runs in the TA's browser: Markdown and HTML outputs go through ``nh3`` (an allow-list
sanitiser: no script, no event handler, no ``javascript:`` URL), images are embedded only as base64 PNG/JPEG/SVG in
``<img>`` (where an SVG cannot run script), and every page carries a Content-Security-Policy that allows only this
page's own nonce'd script.
"""
from __future__ import annotations

import base64
import html
import json
import re
import secrets
import socket
from contextlib import closing
from pathlib import Path
from urllib.parse import quote, urlencode

import nbformat

from ..marks import gradebook
from ..marks.export import class_marks
from ..marks.gradebook import COMMENT_MAX, MACHINE, StaleMark, items, waiting
from ..marks.rubric import Rubric, load_rubric
from ..marks.summary import pass_mark_of
from ..questions import content, figure, figures
from ..questions import names as question_names
from ..reading.sections import cell_questions
from ..report import VERDICTS, template

MATHJAX_DIR = Path("/usr/share/javascript/mathjax")
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$|\\begin\{(\w+\*?)\}.+?\\end\{\1\}", re.S)
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
TOKEN_HEADER = "x-quiz1-token"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
ITEM_KEYS = "asdfghlqwertyuiopzxvbnm"   # a rubric item's key, in the rubric's order (not c, j, k: the page's own)


def needs_human(it: dict) -> bool:
    """An item a TA must look at: no mark proposed (``unverified`` in the quiz's rubric), or flagged."""
    return bool(it["flagged"]) or it["marks"] is None or it["marked_by"] not in (None, MACHINE)


def reviewed(it: dict) -> bool:
    return it["marked_by"] not in (None, MACHINE) and not it["flagged"]


def _clean(html: str) -> str:
    import nh3

    return nh3.clean(html, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def _markdown(text: str) -> str:
    """Markdown as sanitised HTML, its LaTeX left for MathJax (kept out of the Markdown parser, then escaped)."""
    from markdown_it import MarkdownIt

    maths = []

    def keep(m):
        maths.append(m.group(0))
        return f"QUIZ1MATH{len(maths) - 1}X"

    rendered = _clean(MarkdownIt("commonmark").enable("table").render(MATH.sub(keep, text)))
    return re.sub(r"QUIZ1MATH(\d+)X", lambda m: html.escape(maths[int(m.group(1))]), rendered)


def _output(o) -> str:
    kind = o.get("output_type")
    if kind == "stream":
        return f"<pre class='out {html.escape(o.get('name', ''))}'>{html.escape(o.get('text', ''))}</pre>"
    if kind == "error":
        return f"<pre class='out error'>{html.escape(str(o.get('ename')))}: {html.escape(str(o.get('evalue')))}</pre>"
    data = o.get("data", {})
    for mime in IMAGE_MIMES:
        if mime in data:
            blob = data[mime]
            raw = blob.encode() if mime == "image/svg+xml" else base64.b64decode(blob, validate=False)
            return f"<img class='out' alt='output' src='data:{mime};base64,{base64.b64encode(raw).decode()}'>"
    if isinstance(data.get("text/html"), str):
        return f"<div class='out html'>{_clean(data['text/html'])}</div>"
    if isinstance(data.get("text/markdown"), str):
        return f"<div class='out'>{_markdown(data['text/markdown'])}</div>"
    return f"<pre class='out'>{html.escape(str(data.get('text/plain', '')))}</pre>"


def section_html(nb_path: Path, question: str) -> str:
    """The cells of ``question``'s section of the executed notebook, as safe HTML (the whole notebook when the
    section is empty, with a note)."""
    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:  # noqa: BLE001 -- a missing or broken notebook is said, not raised
        return "<p class='note'>The executed notebook is not in the output folder.</p>"
    q = int(question[1:])
    qsets = cell_questions(nb, content(), nb_path.stem)
    cells = [c for c, qs in zip(nb.cells, qsets) if q in qs]
    note = ""
    if not cells:
        cells, note = nb.cells, "<p class='note'>No section for this question was found: the whole notebook.</p>"
    return "\n".join([note, *(cell_html(c) for c in cells)])


def cell_html(c) -> str:
    """One cell of a notebook as safe HTML: Markdown sanitised (its LaTeX left for MathJax), code escaped with its
    outputs (``_output``); another kind of cell is nothing."""
    if c.cell_type == "markdown":
        return f"<div class='md'>{_markdown(c.source)}</div>"
    if c.cell_type == "code":
        count = c.get("execution_count") or " "
        return (f"<div class='code'><span class='prompt'>In [{count}]:</span><pre>{html.escape(c.source)}</pre>"
                + "".join(_output(o) for o in c.get("outputs", [])) + "</div>")
    return ""


def _figure(report_json: Path, question: str) -> tuple[str, str] | None:
    """(alt text, data URI) of what ``question``'s module draws from the zip's report (``questions.figure``), or
    None."""
    try:
        return figure(json.loads(report_json.read_text()), question)
    except (OSError, ValueError):
        return None


def _queue(out: Path, question: str | None, verdict: str | None, flagged: bool, everything: bool,
           show_reviewed: bool = True, members: set | None = None, its: list | None = None) -> list[dict]:
    """The queue's items: those that need a human (``everything``: the machine's too), without the reviewed ones
    unless ``show_reviewed``, of ``question``, ``verdict``, flagged, and of the group ``members`` (stems) when given;
    ``its``: ``items(out)`` when the caller has read them."""
    its = [it for it in (items(out) if its is None else its) if it["graded"]]
    return [it for it in its if (everything or needs_human(it)) and (not question or it["question"] == question)
            and (not verdict or it["verdict"] == verdict) and (not flagged or it["flagged"])
            and (show_reviewed or not reviewed(it)) and (members is None or it["stem"] in members)]


# --------------------------------------------------------------------------
# working a whole class: the queue's counts and groups, a student's page, the live report


def order_key(it: dict) -> tuple:
    """An item's place in the queue (``gradebook.items``' order: question, student id, stem)."""
    return it["question"], it["student_id"] or "", it["stem"]


def neighbours(shown: list[dict], it: dict) -> tuple[int, tuple | None, tuple | None]:
    """(position from 1, or 0 when ``it`` is not in ``shown``; the (stem, question) before it; the one after it)
    in the list ``shown``: an item that has left the list (marked, under the "not yet reviewed" filter) still has
    the items around its place as previous and next."""
    keys = [order_key(x) for x in shown]
    here = order_key(it)
    if here in keys:
        k = keys.index(here)
        before, after, position = shown[:k], shown[k + 1:], k + 1
    else:
        before, after, position = [x for x in shown if order_key(x) < here], [x for x in shown if order_key(x) > here], 0
    return (position, (before[-1]["stem"], before[-1]["question"]) if before else None,
            (after[0]["stem"], after[0]["question"]) if after else None)


def queue_counts(its: list[dict]) -> dict:
    """Question -> counts of its graded items: ``todo`` (need a human and not yet reviewed), ``reviewed`` (marked by
    a TA, not flagged), ``machine`` (the machine's mark, nobody needed), ``total``; and ``"all"``, the sums."""
    counts = {q: {"todo": 0, "reviewed": 0, "machine": 0, "total": 0} for q in question_names()}
    for it in its:
        if not it["graded"] or it["question"] not in counts:
            continue
        c = counts[it["question"]]
        c["total"] += 1
        c["reviewed" if reviewed(it) else "todo" if needs_human(it) else "machine"] += 1
    counts["all"] = {k: sum(c[k] for c in counts.values()) for k in ("todo", "reviewed", "machine", "total")}
    return counts


class ReportsCache:
    """``OUTDIR/*.json`` read again only when one of them changed (name, size, modification time): the queue's
    groups are proposed from every report, and a class of 300 is read once, not at each page."""

    def __init__(self, out: Path):
        self.out, self.seen, self.reports = Path(out), None, {}

    def __call__(self) -> dict:
        from ..marks.groups import reports_in

        seen = []
        for p in sorted(self.out.glob("*.json")):
            try:
                st = p.stat()
            except OSError:
                continue
            seen.append((p.name, st.st_size, st.st_mtime_ns))
        if seen != self.seen:
            self.reports, self.seen = reports_in(self.out), seen
        return self.reports


def group_rows(out: Path, question: str, its: list[dict], reports: dict, params: dict) -> list[dict]:
    """The groups of ``question`` (``groups.groups``, the TA's moves applied), each with its label, status,
    ``members``, ``todo`` (members not yet reviewed that need a human), ``reviewed`` and ``href`` (the queue of
    its items, ``params`` kept)."""
    from ..marks.groups import groups

    by_stem = {it["stem"]: it for it in its if it["question"] == question and it["graded"]}
    rows = []
    for g in groups(out, question, reports):
        mine = [by_stem[m] for m in g.members if m in by_stem]
        query = urlencode({**{k: v for k, v in params.items() if k != "group"}, "q": question, "group": g.key})
        label = f"{mine[0]['student_id'] or mine[0]['stem']}: {g.label}" if g.alone and mine else g.label
        rows.append({"key": g.key, "label": label, "status": g.status, "members": len(g.members), "alone": g.alone,
                     "todo": sum(needs_human(it) and not reviewed(it) for it in mine),
                     "reviewed": sum(reviewed(it) for it in mine), "href": "/?" + query})
    return rows


def notebook_html(nb_path: Path) -> str:
    """The whole executed notebook as safe HTML (each cell as an item's section shows it, ``cell_html``), the
    first cell of each question's section marked with the question (``id='nb-Q3'``)."""
    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:  # noqa: BLE001 -- a missing or broken notebook is said, not raised
        return "<p class='note'>The executed notebook is not in the output folder.</p>"
    qsets = cell_questions(nb, content(), nb_path.stem)
    parts, marked = [], set()
    for c, qs in zip(nb.cells, qsets):
        for q in sorted(qs - marked):
            parts.append(f"<h3 class='nbq' id='nb-Q{q}'>Q{q}</h3>")
            marked.add(q)
        parts.append(cell_html(c))
    return "\n".join(parts)


def submissions(out: Path) -> list[dict]:
    """Every submission of the gradebook (stem, zip, student_id, graded), by student id."""
    with closing(gradebook.connect(out)) as db:
        rows = db.execute("SELECT stem, zip, student_id, graded FROM submissions ORDER BY student_id, stem").fetchall()
    return [dict(r) for r in rows]


def find_students(out: Path, want: str) -> list[dict]:
    """The submissions whose student id, zip or stem is ``want`` (any case), else those holding it; every one for
    an empty ``want``."""
    subs, want = submissions(out), want.strip().upper()
    if not want:
        return subs

    def names(s: dict) -> list[str]:
        return [(s["student_id"] or "").upper(), s["zip"].upper(), s["stem"].upper(), s["zip"].upper().removesuffix(".ZIP")]

    return [s for s in subs if want in names(s)] or [s for s in subs if any(want in n for n in names(s))]


def student_view(out: Path, stem: str, rubric: Rubric) -> dict | None:
    """What ``/student/{stem}`` shows, or None for no such submission: each question's item (verdict, evidence,
    mark, who, comment, ``applied``: its rubric items with text and points, ``adjustment``, a figure), the total and
    bonus, the questions waiting for a human."""
    sub = next((s for s in submissions(out) if s["stem"] == stem), None)
    if sub is None:
        return None
    texts = {(r["question"], r["id"]): r for r in gradebook.rubric_items(out)}
    try:
        drawn = figures(json.loads((out / f"{stem}.json").read_text()))
    except (OSError, ValueError):
        drawn = {}
    qs = []
    for q in question_names():
        it = gradebook.item(out, stem, q)
        if it is None:
            continue
        qs.append({**it, "title": rubric.questions[q].title, "bonus": rubric.questions[q].bonus,
                   "evidence": json.loads(it["evidence"]), "waiting": waiting(it), "figure": drawn.get(q),
                   "items": [{"id": i, "text": texts[q, i]["text"], "points": texts[q, i]["points"]}
                             for i in it["applied"] if (q, i) in texts]})
    total = sum(x["marks"] or 0 for x in qs if not x["bonus"])
    bonus = sum(x["marks"] or 0 for x in qs if x["bonus"])
    return {**sub, "questions": qs, "total": total, "bonus": bonus, "base_marks": rubric.base,
            "bonus_marks": rubric.bonus, "pending": [x["question"] for x in qs if x["waiting"]]}


REPORT_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
              "frame-ancestors 'none'")


def write_refusal(method: str, headers, scheme: str, token: str) -> str | None:
    """Why a request may not change state (one sentence), or None when it may: a safe method, or JSON with this
    server's ``Origin`` (``scheme://Host``) and token."""
    if method in SAFE_METHODS:
        return None
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return f"refused: a write must be JSON (Content-Type: application/json), not {ctype or 'no type'!r}"
    own = f"{scheme}://{headers.get('host', '')}".lower()
    if headers.get("origin", "").lower() != own:
        return f"refused: a write must come from this review page ({own}), not from {headers.get('origin') or 'no origin'}"
    if not secrets.compare_digest(headers.get(TOKEN_HEADER, "").encode(), token.encode()):
        return "refused: a write must carry this review server's token (reload the page if the server was restarted)"
    return None


def same_origin_writes(app, token: str):
    """ASGI middleware: every state-changing request goes through ``write_refusal``; a refusal is HTTP 403."""
    from starlette.datastructures import Headers
    from starlette.responses import JSONResponse

    async def guarded(scope, receive, send):
        if scope["type"] == "http":
            why = write_refusal(scope["method"], Headers(scope=scope), scope.get("scheme", "http"), token)
            if why:
                return await JSONResponse({"error": why}, status_code=403)(scope, receive, send)
        await app(scope, receive, send)

    return guarded


def make_app(out: str | Path, rubric: Rubric | None = None, hosts: tuple[str, ...] = LOCAL_HOSTS,
             token: str | None = None):
    """The review app for the graded folder ``out``, answering to the ``Host`` names ``hosts`` only; ``token`` (a
    fresh secret by default) is the one every write must carry."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    out = Path(out)
    rubric = rubric or load_rubric()
    token = token or secrets.token_urlsafe(32)
    if (out / "gradebook.sqlite").is_file() and not gradebook.rubric_items(out):   # none yet (a gradebook of schema 1)
        gradebook.seed(out, rubric)

    def page(name: str, **ctx):
        nonce = secrets.token_urlsafe(16)
        body = template(name).render(nonce=nonce, mathjax=MATHJAX_DIR.is_dir(), token=token, **ctx)
        csp = (f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
               f"style-src 'self' 'unsafe-inline'; font-src 'self' data:; object-src 'none'; base-uri 'none'")
        return HTMLResponse(body, headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"})

    def filters(request):
        p = request.query_params
        q = p.get("q") if p.get("q") in question_names() else None
        v = p.get("verdict") if p.get("verdict") in VERDICTS else None
        return q, v, p.get("flagged") == "1", p.get("all") == "1"

    reports = ReportsCache(out)

    def view(request, q: str | None) -> tuple[bool, set | None, str | None]:
        """The queue's own filters: the reviewed items shown too (``reviewed=1``), and the group ``group=KEY`` of
        the question ``q`` (its members' stems and the key; a key no group has: no group)."""
        p = request.query_params
        key = p.get("group") or None
        members = None
        if key and q:
            from ..marks.groups import groups

            members = next((set(g.members) for g in groups(out, q, reports()) if g.key == key), None)
        return p.get("reviewed") == "1", members, key if members is not None else None

    async def queue(request):
        q, v, flagged, everything = filters(request)
        its = items(out)
        show_reviewed, members, group = view(request, q)
        shown = _queue(out, q, v, flagged, everything, show_reviewed, members, its)
        need = [it for it in its if it["graded"] and needs_human(it)]
        params = dict(request.query_params)
        hidden = 0 if show_reviewed else len(_queue(out, q, v, flagged, everything, True, members, its)) - len(shown)
        return page("review_queue.html.j2", items=shown, done=sum(not waiting(it) for it in need), total=len(need),
                    questions=question_names(), verdicts=VERDICTS, q=q, verdict=v, flagged=flagged, everything=everything,
                    query=request.url.query, rubric=rubric, counts=queue_counts(its), show_reviewed=show_reviewed,
                    hidden=hidden, group=group, groups=group_rows(out, q, its, reports(), params) if q else [],
                    with_reviewed="?" + urlencode({**params, "reviewed": "1"}),
                    without_reviewed="?" + urlencode({k: x for k, x in params.items() if k != "reviewed"}),
                    without_group="?" + urlencode({k: x for k, x in params.items() if k != "group"}))

    async def item_page(request):
        stem, question = request.path_params["stem"], request.path_params["q"]
        q, v, flagged, everything = filters(request)
        its = items(out)
        show_reviewed, members, _ = view(request, q)
        shown = _queue(out, q, v, flagged, everything, show_reviewed, members, its)
        it = gradebook.item(out, stem, question)
        if it is None:
            return HTMLResponse("no such item", status_code=404)
        position, prev_key, next_key = neighbours(shown, it)
        evidence = json.loads(it["evidence"])
        ritems = [{"id": r["id"], "text": r["text"], "points": r["points"], "by": r["by"],
                   "key": ITEM_KEYS[n] if n < len(ITEM_KEYS) else None, "from_rubric": r["from_rubric"]}
                  for n, r in enumerate(gradebook.rubric_items(out, question))]
        return page("review_item.html.j2", it=it, evidence=evidence, figure=_figure(out / f"{stem}.json", question),
                    section=section_html(out / f"{stem}.ipynb", question),
                    question=rubric.questions[question], prev_key=prev_key, next_key=next_key, query=request.url.query,
                    position=position, count=len(shown), comment_max=COMMENT_MAX, rubric_items=ritems)

    async def student_page(request):
        """One submission whole: its seven answers, marks and items, the total, the executed notebook."""
        stem = request.path_params["stem"]
        st = student_view(out, stem, rubric)
        if st is None:
            return HTMLResponse(f"no submission {html.escape(stem)} in this gradebook: search at /student?id=",
                                status_code=404)
        return page("review_student.html.j2", st=st, notebook=notebook_html(out / f"{stem}.ipynb"))

    async def student_search(request):
        """``?id=``: the submission whose student id, zip or stem it is (or holds), redirected to when it is one;
        else the list of matches (every submission for no ``id``)."""
        from starlette.responses import RedirectResponse

        want = request.query_params.get("id", "").strip()
        found = find_students(out, want)
        if want and len(found) == 1:
            return RedirectResponse("/student/" + quote(found[0]["stem"], safe=""), status_code=303)
        totals = {m.stem: m for m in class_marks(out, rubric)}
        return page("review_students.html.j2", want=want, found=found, totals=totals, rubric=rubric)

    async def report_page(request):
        """``report.html`` from the gradebook as it is now, its class summary at ``?pass=`` (default: half the
        rubric's base marks); a pass mark that is not one is HTTP 400, in one sentence."""
        raw = request.query_params.get("pass")
        try:
            pass_mark = pass_mark_of(raw, rubric) if raw and raw.strip() else None
        except ValueError as e:
            return PlainTextResponse(str(e), status_code=400)
        from ..cohort.batch import class_page

        body, _ = class_page(out, rubric, pass_mark, live=True)
        return HTMLResponse(body, headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"})

    async def similarity_page(request):
        """``OUTDIR/similarity.html`` as ``quiz1 similar`` wrote it (the live report links it), else 404."""
        path = out / "similarity.html"
        if not path.is_file():
            return PlainTextResponse("no similarity.html yet: run quiz1 similar OUTDIR", status_code=404)
        return HTMLResponse(path.read_text(encoding="utf-8"),
                            headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"})

    async def fields(request, required: tuple[str, ...]) -> dict:
        """The request's JSON object, with every one of ``required``; ``ValueError`` (one sentence) otherwise."""
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError(f"expected a JSON object but found {type(body).__name__}")
        missing = [k for k in required if k not in body]
        if missing:
            raise ValueError(f"expected the fields {', '.join(required)} but found no {', '.join(missing)}")
        return body

    def write(handler):
        """An API endpoint: ``handler(request)``'s dict as JSON; a stale save is HTTP 409, any other refusal 400.
        (Every write has passed ``same_origin_writes`` before it gets here.)"""
        async def endpoint(request):
            try:
                return JSONResponse(await handler(request))
            except StaleMark as e:
                return JSONResponse({"error": str(e)}, status_code=409)
            except ValueError as e:   # json's JSONDecodeError and UnicodeDecodeError are ValueErrors too
                return JSONResponse({"error": str(e)}, status_code=400)
        return endpoint

    async def mark(request):
        """{stem, question, marks, by, version[, comment]} as JSON, each field checked by ``set_mark`` as it came
        (no coercion: ``"by": null`` or ``"marks": true`` is refused); no ``comment`` keeps the item's."""
        body = await fields(request, ("stem", "question", "marks", "by", "version"))
        v = gradebook.set_mark(out, body["stem"], body["question"], body["marks"], body["by"], body["version"],
                               body.get("comment"))
        return {"version": v}

    async def apply(request):
        """{stem, question, items, by, version[, adjustment][, comment]}: the rubric items ``items`` (ids) applied,
        those alone, plus ``adjustment`` (default 0), checked by ``apply_items``; the mark they make."""
        body = await fields(request, ("stem", "question", "items", "by", "version"))
        v = gradebook.apply_items(out, body["stem"], body["question"], body["items"], body.get("adjustment"),
                                  body.get("comment"), body["by"], body["version"])
        it = gradebook.item(out, body["stem"], body["question"])
        return {"version": v, "marks": it["marks"], "items": it["applied"], "adjustment": it["adjustment"]}

    async def edit(request):
        """{question, id, by[, points][, text]}: one rubric item changed, and every mark that uses it re-computed."""
        body = await fields(request, ("question", "id", "by"))
        done = gradebook.edit_item(out, body["question"], body["id"], points=body.get("points"),
                                   text=body.get("text"), by=body["by"])
        return {**done, "recomputed": [list(r) for r in done["recomputed"]]}

    async def add(request):
        """{question, text, points, by[, id]}: a new rubric item of ``question``."""
        body = await fields(request, ("question", "text", "points", "by"))
        return gradebook.add_item(out, body["question"], text=body["text"], points=body["points"], by=body["by"],
                                  id=body.get("id"))

    async def delete(request):
        """{question, id, by}: a TA's item that no mark uses, taken out (``gradebook.delete_item``)."""
        body = await fields(request, ("question", "id", "by"))
        return gradebook.delete_item(out, body["question"], body["id"], by=body["by"])

    routes = [Route("/", queue), Route("/item/{stem}/{q}", item_page),
              Route("/student", student_search), Route("/student/{stem}", student_page), Route("/report", report_page),
              Route("/similarity.html", similarity_page),
              Route("/api/mark", write(mark), methods=["POST"]),
              Route("/api/items", write(apply), methods=["POST"]),
              Route("/api/rubric/edit", write(edit), methods=["POST"]),
              Route("/api/rubric/add", write(add), methods=["POST"]),
              Route("/api/rubric/delete", write(delete), methods=["POST"])]
    routes += answer_groups(out, rubric, page, write, fields)
    if MATHJAX_DIR.is_dir():
        routes.append(Mount("/mathjax", StaticFiles(directory=str(MATHJAX_DIR)), name="mathjax"))
    return Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts)),
                                                Middleware(same_origin_writes, token=token)])


def answer_groups(out: Path, rubric: Rubric, page, write, fields) -> list:
    """The routes of the answer groups' pages and writes (``group_review``: /groups/{q}, /group/{q}/{token},
    /api/group/items, /api/group/move, /api/group/merge)."""
    from .group_review import group_routes

    return group_routes(out, rubric, page, write, fields)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (port 0: any free one), or ``ValueError`` in one sentence when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ValueError(f"review: cannot listen on {host}:{port} ({e.strerror}); is another `quiz1 review` running "
                         f"there? choose another port with --port") from None
    sock.listen(128)
    return sock


def serve(out: str | Path, sock: socket.socket, rubric: Rubric | None = None) -> None:
    """Serve the review app on the bound ``sock`` (from ``listen``) until Ctrl-C; it answers to this machine's
    names and to the address it listens on."""
    import uvicorn

    host = sock.getsockname()[0]
    hosts = LOCAL_HOSTS if host in ("0.0.0.0", "::") else tuple(dict.fromkeys((*LOCAL_HOSTS, host)))
    server = uvicorn.Server(uvicorn.Config(make_app(out, rubric, hosts), log_level="warning"))
    server.run(sockets=[sock])
