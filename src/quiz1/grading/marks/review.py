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
from pathlib import Path

import nbformat

from ..questions import content, figures
from ..questions import names as question_names
from ..reading.sections import cell_questions
from ..report import VERDICTS, template
from . import gradebook
from .gradebook import COMMENT_MAX, MACHINE, StaleMark, items, waiting
from .rubric import Rubric, load_rubric

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
    """(alt text, data URI) of what ``question``'s module draws from the zip's report (``questions.figures``), or
    None."""
    try:
        return figures(json.loads(report_json.read_text())).get(question)
    except (OSError, ValueError):
        return None


def _queue(out: Path, question: str | None, verdict: str | None, flagged: bool, everything: bool) -> list[dict]:
    its = [it for it in items(out) if it["graded"]]
    return [it for it in its if (everything or needs_human(it)) and (not question or it["question"] == question)
            and (not verdict or it["verdict"] == verdict) and (not flagged or it["flagged"])]


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
    from starlette.responses import HTMLResponse, JSONResponse
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

    async def queue(request):
        q, v, flagged, everything = filters(request)
        shown = _queue(out, q, v, flagged, everything)
        need = [it for it in items(out) if it["graded"] and needs_human(it)]
        return page("review_queue.html.j2", items=shown, done=sum(not waiting(it) for it in need), total=len(need),
                    questions=question_names(), verdicts=VERDICTS, q=q, verdict=v, flagged=flagged, everything=everything,
                    query=request.url.query, rubric=rubric)

    async def item_page(request):
        stem, question = request.path_params["stem"], request.path_params["q"]
        q, v, flagged, everything = filters(request)
        shown = _queue(out, q, v, flagged, everything)
        keys = [(it["stem"], it["question"]) for it in shown]
        it = gradebook.item(out, stem, question)
        if it is None:
            return HTMLResponse("no such item", status_code=404)
        k = keys.index((stem, question)) if (stem, question) in keys else -1
        prev_key = keys[k - 1] if k > 0 else None
        next_key = keys[k + 1] if 0 <= k < len(keys) - 1 else None
        evidence = json.loads(it["evidence"])
        ritems = [{"id": r["id"], "text": r["text"], "points": r["points"], "by": r["by"],
                   "key": ITEM_KEYS[n] if n < len(ITEM_KEYS) else None}
                  for n, r in enumerate(gradebook.rubric_items(out, question))]
        return page("review_item.html.j2", it=it, evidence=evidence, figure=_figure(out / f"{stem}.json", question),
                    section=section_html(out / f"{stem}.ipynb", question),
                    question=rubric.questions[question], prev_key=prev_key, next_key=next_key, query=request.url.query,
                    position=k + 1, count=len(keys), comment_max=COMMENT_MAX, rubric_items=ritems)

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

    routes = [Route("/", queue), Route("/item/{stem}/{q}", item_page), Route("/api/mark", write(mark), methods=["POST"]),
              Route("/api/items", write(apply), methods=["POST"]),
              Route("/api/rubric/edit", write(edit), methods=["POST"]),
              Route("/api/rubric/add", write(add), methods=["POST"])]
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
