"""`quiz1 review` holds against other origins (issue 34, item 1) and its API takes only well-typed marks (items 5, 7).

The attacks are the ones a TA's browser meets: a page of another origin (a second local server on another port)
that auto-submits a `<form enctype=text/plain>` shaped as JSON, and one that loops `fetch` over versions 1-20, both
in Debian's Chromium driven by Playwright while two TAs mark in other tabs; and a request under a foreign `Host`
(DNS rebinding: the browser would send the attacker's name). Expected: none of them changes the gradebook, and the
TAs' own marks, set with the keyboard alone, are exactly what the gradebook holds.
"""
import json
import shutil
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from quiz1.cli import main
from quiz1.grading.marks import gradebook
from review_pages import chromium, item, make_class, other_origin, post, refused_headers, review_server, token_of

needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
VICTIMS = {"A0000001A": "Q3", "A0000002B": "Q3", "A0000003C": "Q4"}


def attack_pages(target: str) -> dict[str, str]:
    """Another origin's pages aimed at ``target``'s /api/mark: a text/plain form whose body reads as JSON, and a
    fetch loop over versions 1-20 (simple no-cors requests, JSON ones that need a preflight, and a read of the page
    for its token); each page says 'done' in its title."""
    form_name = json.dumps({"stem": "A0000001A", "question": "Q3", "marks": 3, "by": "mallory", "version": 1})[:-1] + ', "pad": "'
    form = (f"<form id='f' method='POST' enctype='text/plain' action='{target}/api/mark'>"
            f"<input type='hidden' name='{form_name.replace(chr(39), '&#39;')}' value='\"}}'></form>"
            "<script>document.getElementById('f').submit()</script>")
    loop = f"""<pre id='log'></pre><script>
const T = {json.dumps(target)}, log = [];
(async () => {{
  try {{ const r = await fetch(T + '/'); log.push('read ' + r.status); }} catch (e) {{ log.push('read refused'); }}
  for (let v = 1; v <= 20; v++) {{
    for (const [stem, q] of [['A0000002B', 'Q3'], ['A0000003C', 'Q4']]) {{
      const body = JSON.stringify({{stem: stem, question: q, marks: 2, by: 'mallory', version: v}});
      for (const opts of [{{mode: 'no-cors', headers: {{'Content-Type': 'text/plain'}}}},
                          {{headers: {{'Content-Type': 'application/json', 'X-Quiz1-Token': 'guess'}}}}]) {{
        try {{ const r = await fetch(T + '/api/mark', {{method: 'POST', body: body, ...opts}}); log.push(r.type + ' ' + r.status); }}
        catch (e) {{ log.push('refused'); }}
      }}
    }}
  }}
  document.getElementById('log').textContent = JSON.stringify(log);
  document.title = 'done';
}})();
</script>"""
    return {"/form.html": form, "/loop.html": loop}


def untouched(out, before: dict) -> None:
    for stem, q in VICTIMS.items():
        it = item(out, stem, q)
        assert (it["marks"], it["marked_by"], it["version"]) == before[stem], (stem, q, it)


@needs_chromium
def test_a_page_of_another_origin_cannot_set_a_mark_in_chromium(tmp_path):
    from playwright.sync_api import expect

    out = make_class(tmp_path)
    before = {stem: (None, None, item(out, stem, q)["version"]) for stem, q in VICTIMS.items()}
    with review_server(out) as (base, writes), other_origin(attack_pages(base)) as evil, chromium() as browser:
        page = browser.new_page()
        with page.expect_response(base + "/api/mark") as answer:
            page.goto(evil + "/form.html")                                  # auto-submitted: the browser posts it
        assert answer.value.status == 403
        untouched(out, before)
        page.goto(evil + "/loop.html")
        expect(page).to_have_title("done")
        log = json.loads(page.inner_text("#log"))
        assert log[0] == "read refused"                                      # the token is not readable from there
        assert len(writes) >= 1 + 40                                         # the simple requests did reach the server
        untouched(out, before)                                               # ... and changed nothing


def test_another_host_name_is_refused_dns_rebinding(tmp_path):
    out = make_class(tmp_path)
    with review_server(out) as (base, _):
        port = base.rsplit(":", 1)[1]
        token = token_of(base)
        with pytest.raises(HTTPError) as e:
            urlopen(Request(base + "/", headers={"Host": f"evil.example:{port}"}))
        assert e.value.code == 400                                           # not even a page (or its token) to read
        status, _ = post(base, {"stem": "A0000001A", "question": "Q3", "marks": 3, "by": "mallory", "version": 1},
                         headers={"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}",
                                  "X-Quiz1-Token": token})
        assert status == 400 and item(out, "A0000001A", "Q3")["marks"] is None
        for name in ("localhost", "127.0.0.1"):                             # this machine's names are served
            assert urlopen(Request(base + "/", headers={"Host": f"{name}:{port}"})).status == 200


def test_a_write_must_be_json_from_this_page_with_its_token(tmp_path):
    out = make_class(tmp_path)
    body = {"stem": "A0000001A", "question": "Q3", "marks": 2, "by": "alice", "version": item(out, "A0000001A", "Q3")["version"]}
    with review_server(out) as (base, _):
        for headers, why in refused_headers(base):
            status, answer = post(base, body, headers=headers)
            assert (status, why in answer["error"]) == (403, True), headers
        assert item(out, "A0000001A", "Q3")["marks"] is None
        assert post(base, body)[0] == 200                                   # the page's own request
        assert (item(out, "A0000001A", "Q3")["marks"], item(out, "A0000001A", "Q3")["marked_by"]) == (2, "alice")


@pytest.mark.parametrize("field, value, said", [
    ("by", None, "marked by"), ("by", "", "marked by"), ("by", "  ", "marked by"), ("by", "machine", "marked by"),
    ("by", 7, "marked by"), ("by", "x" * 101, "marked by"),
    ("marks", True, "marks"), ("marks", "3", "marks"), ("marks", None, "marks"), ("marks", 3.5, "expected 0 to 3"),
    ("marks", -1, "expected 0 to 3"), ("version", "1", "version"), ("version", True, "version"),
    ("comment", "x" * 2_000_000, "at most 4,000 characters"), ("comment", ["a"], "comment"),
    ("stem", ["A0000001A"], "stem"), ("question", "Q9", "no such item"),
])
def test_the_api_takes_only_well_typed_marks(tmp_path, field, value, said):
    out = make_class(tmp_path, sids=("A0000001A",))
    body = {"stem": "A0000001A", "question": "Q3", "marks": 2, "by": "alice", "comment": "ok",
            "version": item(out, "A0000001A", "Q3")["version"], field: value}
    with review_server(out) as (base, _):
        status, answer = post(base, body)
        assert status == 400 and said in answer["error"], answer
        status, answer = post(base, None, raw=b'{"stem": "A0000001A", "question": "Q3", "marks": NaN, "by": "a", '
                                              b'"version": 1}')
        assert status == 400 and "marks" in answer["error"]
    it = item(out, "A0000001A", "Q3")
    assert (it["marks"], it["marked_by"], it["comment"]) == (None, None, "")


def test_a_new_mark_keeps_the_comment_unless_given_one_and_says_whose_it_replaces(tmp_path, capsys):
    out = make_class(tmp_path, sids=("A0000001A",))
    with review_server(out) as (base, _):
        v = item(out, "A0000001A", "Q3")["version"]
        assert post(base, {"stem": "A0000001A", "question": "Q3", "marks": 2, "by": "alice", "version": v,
                           "comment": "chain rule right, sign slip"})[0] == 200
        assert post(base, {"stem": "A0000001A", "question": "Q3", "marks": 2.5, "by": "bob", "version": v + 1})[0] == 200
        it = item(out, "A0000001A", "Q3")
        assert (it["marks"], it["marked_by"], it["comment"]) == (2.5, "bob", "chain rule right, sign slip")
    assert main(["mark", str(out), "A0000001A", "Q3", "3", "--by", "Erin"]) == 0
    said = capsys.readouterr().out
    assert "replaces 2.5 by bob" in said and "comment kept" in said
    it = item(out, "A0000001A", "Q3")
    assert (it["marks"], it["marked_by"], it["comment"]) == (3, "Erin", "chain rule right, sign slip")
    assert main(["mark", str(out), "A0000001A", "Q1", "1", "--by", "Erin", "--comment", "used F.softmax"]) == 0
    said = capsys.readouterr().out
    assert "replaces 3 by the machine" in said and "comment added" in said
    assert item(out, "A0000001A", "Q1")["comment"] == "used F.softmax"
    assert main(["mark", str(out), "A0000001A", "Q3", "1", "--by", "Erin", "--comment", ""]) == 0
    assert item(out, "A0000001A", "Q3")["comment"] == ""                   # an empty --comment clears it


def keyboard_only(page, queue: str, name: str) -> None:
    """Open the first item of ``queue`` and give the name, with keys alone (j, then Tab to the name field)."""
    page.goto(queue)
    with page.expect_navigation():
        page.keyboard.press("j")
    for _ in range(20):
        if page.evaluate("document.activeElement.id") == "by":
            break
        page.keyboard.press("Tab")
    page.keyboard.type(name)
    page.keyboard.press("Enter")


@needs_chromium
def test_two_tas_mark_a_class_with_the_keyboard_while_another_page_attacks(tmp_path):
    """Three students, Q3 and Q4 each: alice marks the Q3s in one tab, bob the Q4s in another browser profile, keys
    alone; the attacking pages loop in a third tab of alice's browser. The gradebook holds exactly their six marks
    and the machine's own for the rest."""
    from playwright.sync_api import expect

    out = make_class(tmp_path)
    alice_keys = {("A0000001A", "Q3"): "2", ("A0000002B", "Q3"): "3", ("A0000003C", "Q3"): "0"}
    bob_keys = {("A0000001A", "Q4"): "1", ("A0000002B", "Q4"): "3", ("A0000003C", "Q4"): "2"}
    with review_server(out) as (base, _), other_origin(attack_pages(base)) as evil, chromium() as browser:
        context = browser.new_context()
        attacker = context.new_page()
        attacker.goto(evil + "/form.html")
        alice, bob = context.new_page(), browser.new_context().new_page()
        keyboard_only(alice, base + "/?q=Q3", "alice")
        keyboard_only(bob, base + "/?q=Q4", "bob")
        attacker.goto(evil + "/loop.html")                                   # runs while the TAs mark
        for n, (a, b) in enumerate(zip(alice_keys.values(), bob_keys.values())):
            for page, key, name in ((alice, a, "alice"), (bob, b, "bob")):
                page.keyboard.press(key)
                expect(page.locator("#status")).to_have_text(f"saved: {key} by {name}")
                if n < 2:
                    with page.expect_navigation():
                        page.keyboard.press("j")
        expect(attacker).to_have_title("done")
    got = {(it["stem"], it["question"]): (it["marks"], it["marked_by"]) for it in gradebook.items(out)}
    machine = {k: (3.0 if k[1] == "Q1" else 0.0, "machine") for k in got if k[1] not in ("Q3", "Q4")}  # Q1 correct
    assert got == {**machine, **{k: (float(v), "alice") for k, v in alice_keys.items()},
                   **{k: (float(v), "bob") for k, v in bob_keys.items()}}
    # what reaches Canvas is exactly what they set: Q1's 3 + alice's Q3 + bob's Q4, the rest 0 (added by hand)
    canvas = tmp_path / "canvas.csv"
    canvas.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (12345)\n    Points Possible,,,,,15.00\n"
                      + "".join(f"S{k},{k},{sid},x,CS5242,\n" for k, sid in enumerate(VICTIMS)))
    assert main(["export", str(out), "--canvas", str(canvas), "--assignment", "12345", "--out",
                 str(tmp_path / "import.csv")]) == 0
    rows = (tmp_path / "import.csv").read_text(encoding="utf-8-sig").splitlines()[2:]
    assert {r.split(",")[2]: float(r.split(",")[5]) for r in rows} == {"A0000001A": 6, "A0000002B": 9, "A0000003C": 5}
