"""Q3 read as the TA sees it rendered: hidden text, the notebook's own macros, hedges, disowned formulas, and the
honest forms the reading used to miss.

Every notebook text here is written by hand. The verdict asserted is the one a careful TA gives looking at the
rendered notebook: the right answer, derived by hand (``solvers/symbolic_grad.py``'s docstring), is
dL/dx_i = (sigma(s) - y) sum_j W1_ij (1[f_j > 0] + W2_j), f = W1^T x, s = ReLU(f_1) + ReLU(f_2) + W2 . f. A cheat
never gets ``correct``; an honest form gets ``correct`` (or ``unverified``, for a human, where the text says why).
"""
import nbformat
import pytest

from quiz1.grading.questions.equivalence import check_q3
from quiz1.grading.reading.rendered_markdown import Formula, Page, read_markdown, visible_tex
from quiz1.grading.running.execution import RunRecord, markdown_formulas

N = 16     # points: 4 in each sign pattern of (f_1, f_2), enough to tell these formulas apart

LHS = r"\frac{\partial L}{\partial x_i}"
RIGHT = r"(\sigma(s) - y)\sum_j W_{ij}\left(\mathbb{1}[f_j > 0] + v_j\right)"
R = LHS + " = " + RIGHT
WRONG_SIGN = LHS + r" = (y - \sigma(s))\sum_j W_{ij}\left(\mathbb{1}[f_j > 0] + v_j\right)"
NO_RELU = LHS + r" = (\sigma(s) - y)\sum_j W_{ij} v_j"
SIGMA_KEPT = LHS + r" = (\sigma(s) - y)\sigma(s)(1 - \sigma(s))\sum_j W_{ij}\left(\mathbb{1}[f_j > 0] + v_j\right)"


def verdict(*cells):
    return check_q3(list(cells), n_points=N)


# --------------------------------------------------------------------------
# the reference: the formulas used below, alone, read as a TA reads them

def test_the_formulas_used_below_read_as_written():
    assert verdict(f"$${R}$$").status == "correct"
    for w in (WRONG_SIGN, NO_RELU, SIGMA_KEPT):
        assert verdict(f"$${w}$$").status == "wrong", w


# --------------------------------------------------------------------------
# cheats: what the TA does not see is not the answer

HIDDEN = {
    "the right one in an HTML comment": f"$${NO_RELU}$$\n\n<!-- $${R}$$ -->",
    "a comment over several lines": f"$${WRONG_SIGN}$$\n\n<!--\nThe real one:\n\n$${R}$$\n-->",
    "a comment never closed": f"$${NO_RELU}$$\n\n<!-- $${R}$$",
    "display:none": f"$${WRONG_SIGN}$$\n\n<div style=\"display: none\">\n\n$${R}$$\n\n</div>",
    "the hidden attribute": f"$${NO_RELU}$$ <span hidden>$${R}$$</span>",
    "white HTML text": f"$${SIGMA_KEPT}$$\n\n<span style='color:#FFFFFF'>$${R}$$</span>",
    "a font colour": f"$${NO_RELU}$$ <font color=\"white\">$${R}$$</font>",
    "a zero font size": f"$${WRONG_SIGN}$$ <span style=\"font-size:0px\">$${R}$$</span>",
    "\\phantom": f"$${NO_RELU}$$ $$\\phantom{{{R}}}$$",
    "\\textcolor{white}": f"$${WRONG_SIGN}$$ $$\\textcolor{{white}}{{{R}}}$$",
    "\\color[rgb]{1,1,1} on a whole formula": f"$${NO_RELU}$$\n\n$$\\color[rgb]{{1,1,1}}{{{R}}}$$",
}


@pytest.mark.parametrize("name", HIDDEN)
def test_a_formula_the_ta_cannot_see_is_not_read(name):
    got = verdict(HIDDEN[name])
    assert got.status == "wrong", (name, got)            # the visible formula is the answer, and it is wrong
    assert "the TA does not see" in got.note


INVISIBLE_RHS = {
    "\\color{white}{...}": LHS + r" = \color{white}{" + RIGHT + "}",
    "\\color{white} as a switch": LHS + r" = {\color{white} " + RIGHT + "}",
    "a \\colorbox of the text's own colour": LHS + r" = \colorbox{yellow}{$\color{yellow}" + RIGHT + "$}",
    "\\bbox with a black background": LHS + r" = \bbox[black]{\color{black}{" + RIGHT + "}}",
    "\\style{display:none}": LHS + r" = \style{display:none}{" + RIGHT + "}",
    "the skip path drawn in white": LHS + r" = (\sigma(s) - y)\sum_j W_{ij}\left(\mathbb{1}[f_j > 0] \color{white}{+ v_j}"
                                           r"\right)",
    "a colour the notebook defines as white": r"\definecolor{paper}{HTML}{FFFFFF}" + LHS + r" = \color{paper}{" + RIGHT
                                              + "}",
    "the label drawn in #fff": LHS + r" = (\sigma(s) - \textcolor{#fff}{y})\sum_j W_{ij}\left(\mathbb{1}[f_j > 0] + v_j"
                               r"\right)",
}


@pytest.mark.parametrize("name", INVISIBLE_RHS)
def test_a_right_side_drawn_invisibly_is_never_correct(name):
    got = verdict(f"$${INVISIBLE_RHS[name]}$$")
    assert got.status in ("wrong", "unverified"), (name, got)


def test_what_is_left_visible_is_kept_and_alignment_phantoms_do_no_harm():
    kept, removed, _ = visible_tex(r"a + \phantom{b} c \textcolor{white}{d} \color{red}{e}")
    assert kept.split() == ["a", "+", "c", "{e}"] and len(removed) == 2
    got = verdict("$$\\begin{aligned}" + LHS + r" &= (\sigma(s) - y)\sum_j W_{ij}\mathbb{1}[f_j > 0] \\ &\phantom{=}"
                  r" + (\sigma(s) - y)\sum_j W_{ij} v_j\end{aligned}$$")
    assert got.status == "correct", got
    assert verdict(f"$${LHS} = \\color{{blue}}{{{RIGHT}}}$$").status == "correct"    # a visible colour is read


def test_a_style_sheet_in_the_markdown_is_noted_on_the_page():
    page = Page()
    view = page.markdown(f"<style>.a {{display: none}}</style>\n\n$${R}$$")
    assert view.css and any(isinstance(p, Formula) for p in view.pieces)


# --------------------------------------------------------------------------
# cheats: the notebook's own macros, applied as MathJax applies them

MACROS = {
    "\\def\\sigma{\\tanh}": [r"$\def\sigma{\tanh}$", f"$${R}$$"],
    "\\renewcommand{\\boxed}": [r"$\renewcommand{\boxed}[1]{(y - \sigma(s))\sum_j W_{ij} v_j}$",
                                f"$${LHS} = \\boxed{{{RIGHT}}}$$"],
    "\\let\\sigma\\tanh": [r"$$\let\sigma\tanh$$", f"$${R}$$"],
    "\\renewcommand{\\sigma} to one minus itself": [r"$\renewcommand{\sigma}{1 - \mathrm{sigmoid}}$", f"$${R}$$"],
    "a macro over the indicator": [r"$\def\mathbb#1{0\cdot}$", f"$${R}$$"],
}


@pytest.mark.parametrize("name", MACROS)
def test_the_notebooks_own_macros_are_applied(name):
    got = verdict(*MACROS[name])
    assert got.status in ("wrong", "unverified"), (name, got)


def test_a_macro_defined_in_an_earlier_section_applies_and_one_in_a_comment_does_not():
    page = Page()
    page.markdown("## Question 1\n\nNotation: $\\newcommand{\\sigma}{\\tanh}$", 0)
    got = check_q3(page.markdown(f"## Question 3\n\n$${R}$$", 1).pieces, n_points=N)
    assert got.status == "wrong", got                    # tanh(s) - y: a TA sees tanh
    page = Page()
    page.markdown("<!-- $\\def\\sigma{\\tanh}$ -->", 0)
    assert check_q3(page.markdown(f"$${R}$$", 1).pieces, n_points=N).status == "correct"


def test_a_macro_the_grader_cannot_expand_is_named():
    delimited = verdict(r"$\def\s(#1){\tanh(#1)}$", f"$${LHS} = (\\s(s) - y)\\sum_j W_{{ij}}(\\mathbb{{1}}[f_j>0] + v_j)$$")
    assert delimited.status == "unverified" and "\\s" in delimited.note and "delimited" in delimited.note
    loop = verdict(r"$\def\a{\a x}$", f"$${LHS} = \\a$$")
    assert loop.status == "unverified" and "expands without end" in loop.note


HONEST_MACROS = {
    "a partial-derivative macro": [r"$\newcommand{\pd}[2]{\frac{\partial #1}{\partial #2}}$",
                                   f"$$\\pd{{L}}{{x_i}} = {RIGHT}$$"],
    "\\def without arguments": [r"$$\def\relu{\operatorname{ReLU}}\def\yh{\hat{y}}$$",
                                r"$$\frac{\partial L}{\partial x_i} = (\yh - y)\sum_j W_{ij}(\relu'(f_j) + v_j)$$"],
    "\\DeclareMathOperator, an optional argument": [
        r"$\DeclareMathOperator{\sig}{sigmoid}\newcommand{\w}[1][i]{W_{#1j}}$",
        r"$$\frac{\partial L}{\partial x_i} = (\sig(s) - y)\sum_j \w (\mathbb 1[f_j > 0] + v_j)$$"],
}


@pytest.mark.parametrize("name", HONEST_MACROS)
def test_honest_macros_are_read(name):
    got = verdict(*HONEST_MACROS[name])
    assert got.status == "correct", (name, got)


# --------------------------------------------------------------------------
# cheats: which formula is the answer

HEDGES = {
    "three joined by 'or', the right one last": f"$${WRONG_SIGN}$$ or $${NO_RELU}$$ or $${R}$$",
    "'one of these' before a list": f"One of these is the answer:\n\n- ${NO_RELU}$\n- ${R}$\n- ${SIGMA_KEPT}$",
    "a bare list of alternatives": f"- ${SIGMA_KEPT}$\n- ${R}$",
    "'or' inside one formula": f"$${NO_RELU} \\quad\\text{{or}}\\quad {R}$$",
    "either ... or maybe": f"Either ${WRONG_SIGN}$, or maybe ${R}$.",
    "'not sure which' after them": f"$${NO_RELU}$$\n\n$${R}$$\n\nI am not sure which one is right.",
    "the options are": f"The options are $${SIGMA_KEPT}$$ $${R}$$",
    "a set of formulas": f"$${LHS} \\in \\left\\{{{RIGHT},\\ (\\sigma(s) - y)\\sum_j W_{{ij}} v_j\\right\\}}$$",
}


@pytest.mark.parametrize("name", HEDGES)
def test_different_formulas_offered_as_the_answer_are_for_a_human(name):
    got = verdict(f"$${R}$$ is my first step.", HEDGES[name])       # a right formula before them is not the answer
    assert got.status == "unverified" and "which one is the answer" in got.note, (name, got)


def test_the_same_answer_in_two_forms_is_no_hedge():
    vector = r"\nabla_{\mathbf{x}} L = (\sigma(s)-y)\, W^{(1)\top}\left(\mathbb{1}[f>0] + W^{(2)}\right)"
    got = verdict(f"Here $f = W^{{(1)}} x$, $W^{{(1)}}$ is $2\\times 3$. $${R}$$ or, in vector form, $${vector}$$")
    assert got.status == "correct", got
    assert verdict(f"$${WRONG_SIGN}$$ or $${WRONG_SIGN}$$").status == "wrong"   # wrong either way


FALLBACKS = {
    "a first attempt, then a final answer that cannot be read": [
        f"First attempt: ${R}$", f"**Final answer:** $${LHS} = (\\sigma(s) - y)\\,\\mathcal{{G}}_i(f)$$"],
    "the last side of a chain cannot be read": [f"$${R} = (\\sigma(s) - y)\\,\\Xi_{{i}}$$"],
    "the final one uses a name never defined": [f"$${R}$$", f"So in the end $${LHS} = \\kappa_i (\\sigma(s) - y)$$"],
}


@pytest.mark.parametrize("name", FALLBACKS)
def test_an_unreadable_final_formula_is_never_replaced_by_an_earlier_one(name):
    got = verdict(*FALLBACKS[name])
    assert got.status == "unverified" and "could not read it" in got.note, (name, got)


DISOWNED = {
    "introduced as not my answer": [f"Here is a formula, but it is not my answer: $${R}$$"],
    "a wrong attempt": ["Wrong attempt:", f"$${R}$$"],
    "labelled incorrect": [f"Incorrect: ${R}$"],
    "struck through with ~~": [f"~~$${R}$$~~"],
    "struck through with <del>": [f"<del>${R}$</del>"],
    "followed by (this is wrong)": [f"$${R}$$ (this is wrong)"],
    "under a scratch heading": ["### Scratch work (ignore)", f"$${R}$$"],
    "crossed out with \\xcancel": [f"$${LHS} = \\xcancel{{{RIGHT}}}$$"],
    "the following is not the final": [f"The following is not the final one. $${R}$$"],
}


@pytest.mark.parametrize("name", DISOWNED)
def test_a_formula_the_text_disowns_is_not_the_answer(name):
    got = verdict(*DISOWNED[name])
    assert got.status == "unverified" and "disown" in got.note, (name, got)
    then = verdict(*DISOWNED[name], "### Answer", f"$${NO_RELU}$$")        # the answer it does give is read
    assert then.status == "wrong", (name, then)


def test_prose_that_only_mentions_wrongness_disowns_nothing():
    got = verdict(f"A common wrong answer forgets the skip path; the chain rule over both paths gives $${R}$$")
    assert got.status == "correct", got
    got = verdict(f"$${NO_RELU}$$ This is wrong. Adding the ReLU path: $${R}$$")
    assert got.status == "correct", got
    got = verdict("## Question 3: backpropagation from scratch", "We ignore this term as it cancels:", f"$${R}$$")
    assert got.status == "correct", got


# --------------------------------------------------------------------------
# honest forms

HONEST = {
    "aligned, the sum over j split at a top-level +": (
        "$$\\begin{aligned}" + LHS + r" &= (\sigma(s)-y)\, W_{i1}\left(\mathbb{1}[f_1>0] + v_1\right) \\ &\quad + "
        r"(\sigma(s)-y)\, W_{i2}\left(\mathbb{1}[f_2>0] + v_2\right)\end{aligned}$$"),
    "align, a continuation at -": (
        "\\begin{align}" + LHS + r" &= (\sigma(s)-y)\sum_j W_{ij}\mathbb{1}[f_j>0] \\ &\qquad - (y - \sigma(s))"
        r"\sum_j W_{ij} v_j \nonumber\end{align}"),
    "split, the line ending in +": (
        "$$\\begin{split}" + LHS + r" = (\hat y - y)W_{i1}H(f_1) + (\hat y - y)W_{i2}H(f_2) + \\ & (\hat y - y)"
        r"(W_{i1}v_1 + W_{i2}v_2)\end{split}$$"),
    "aligned, a line break inside brackets": (
        "$$\\begin{aligned}" + LHS + r" &= (\sigma(s)-y)\Big[W_{i1}\left(\mathbb{1}[f_1>0] + v_1\right) \\ &\qquad + "
        r"W_{i2}\left(\mathbb{1}[f_2>0] + v_2\right)\Big]\end{aligned}$$"),
    "Einstein summation": LHS + r" = (\sigma(s)-y)\, W_{ij}\left(\mathbb{1}[f_j>0]+v_j\right)",
    "Einstein summation, other letters": r"\frac{\partial \mathcal{L}}{\partial x_k} = (\hat{y} - y) w_{kj}(H(f_j) + u_j)",
    "a ones vector with diag": (r"\nabla_{\mathbf x} L = (\sigma(s)-y)\, W^{(1)\top}\left(\mathrm{diag}(\mathbb{1}[f>0])"
                                r"\,\mathbf{1} + W^{(2)}\right)"),
    "a bold ones vector, the indicator of a set": (r"\nabla_{x} L = (\sigma(s)-y)\, W_1^T\left(\mathbf{1}_{\{f>0\}} "
                                                   r"\odot \boldsymbol{1} + W_2\right)"),
    "a ones vector in a Hadamard product": (r"\nabla_{x} L = (\sigma(s)-y)\, W_1^T\left(\mathbb{1}_{f>0} \odot "
                                            r"\mathbf 1 + W_2\right)"),
}


@pytest.mark.parametrize("name", HONEST)
def test_honest_forms_are_read(name):
    text = HONEST[name]
    text = text if text.startswith(("$", "\\begin")) else f"Here $f = W_1 x$ with $W_1$ of shape $2\\times 3$:\n\n$${text}$$"
    got = verdict(text)
    assert got.status == "correct", (name, got)


def test_honest_forms_with_a_slip_are_still_wrong():
    einstein = verdict(f"$${LHS} = (\\sigma(s)-y)\\, W_{{ij}} v_j$$")
    assert einstein.status == "wrong", einstein
    ones = verdict(r"$f = W_1 x$, $$\nabla_x L = (\sigma(s)-y)\, W_1^T(\mathbf 1 + W_2)$$")   # ReLU' taken as 1
    assert ones.status == "wrong", ones
    continued = verdict("$$\\begin{aligned}" + LHS + r" &= (\sigma(s)-y)\, W_{i1}\mathbb{1}[f_1>0] \\ &\quad + "
                        r"(\sigma(s)-y)\, W_{i2}\mathbb{1}[f_2>0]\end{aligned}$$")      # the skip path lost
    assert continued.status == "wrong", continued


OUTPUTS = {
    "display(Math(...))": {"output_type": "display_data", "metadata": {}, "data": {
        "text/latex": f"$\\displaystyle {R}$", "text/plain": "<IPython.core.display.Math object>"}},
    "display(Latex(...))": {"output_type": "display_data", "metadata": {}, "data": {
        "text/latex": f"$${R}$$", "text/plain": "<IPython.core.display.Latex object>"}},
    "display(Markdown(...))": {"output_type": "display_data", "metadata": {}, "data": {
        "text/markdown": f"**Answer:** $${R}$$", "text/plain": "<IPython.core.display.Markdown object>"}},
    "an HTML output typeset by MathJax": {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                          "data": {"text/html": f"<p>$${R}$$</p>", "text/plain": "<obj>"}},
}


@pytest.mark.parametrize("name", OUTPUTS)
def test_a_formula_displayed_by_a_code_cell_is_read(name):
    view = Page().output(OUTPUTS[name], 3)
    assert [p.origin for p in view.pieces if isinstance(p, Formula)] == ["output"]
    assert check_q3(view.pieces, n_points=N).status == "correct", name


def _notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nb


def test_a_section_reads_its_markdown_and_its_outputs_in_order_with_the_notebooks_macros():
    code = nbformat.v4.new_code_cell("display(Math(...))", execution_count=2,
                                     outputs=[nbformat.from_dict(OUTPUTS["display(Math(...))"])])
    code.outputs[0]["data"]["text/latex"] = f"$\\displaystyle \\pd{{L}}{{x_i}} = {RIGHT}$"
    nb = _notebook([nbformat.v4.new_markdown_cell(r"# Notation $\newcommand{\pd}[2]{\frac{\partial #1}{\partial #2}}$"),
                    nbformat.v4.new_markdown_cell(f"## Question 3\n\nFirst try: ${NO_RELU}$. Then, computed:"), code])
    qsets = [frozenset(), frozenset({3}), frozenset({3})]
    formulas, pieces, md = markdown_formulas(nb, qsets, ran=lambda i: True)
    assert len(formulas[3]) == 1 and md[3]["prose"] > 0            # Markdown's formulas; the output's are pieces
    assert check_q3(pieces[3], n_points=N).status == "correct"
    _, unrun, _ = markdown_formulas(nb, qsets)            # outputs of cells the run did not run are not this run's
    assert check_q3(unrun[3], n_points=N).status == "wrong"


def test_a_section_of_markdown_only_is_a_section():
    from quiz1.grading.evidence import Evidence
    from quiz1.grading.questions import q3

    shot = nbformat.v4.new_markdown_cell("![my derivation](attachment:q3.png)")
    shot["attachments"] = {"q3.png": {"image/png": "iVBORw0KGgo="}}
    nb = _notebook([nbformat.v4.new_markdown_cell("## Question 3"), shot])
    formulas, pieces, md = markdown_formulas(nb, [frozenset({3})] * 2)
    assert md[3]["images"] == 1 and not formulas
    run = RunRecord(latex_cells=formulas, rendered=pieces, markdown=md)
    got = q3.verdict(Evidence(run, None))
    assert got.status == "unverified" and "1 image(s)" in got.note, got
    words = _notebook([nbformat.v4.new_markdown_cell("## Question 3"), nbformat.v4.new_markdown_cell(
        "The gradient is sigma of s minus y, times the sum over j of the weight times the ReLU slope plus v_j.")])
    formulas, pieces, md = markdown_formulas(words, [frozenset({3})] * 2)
    got = q3.verdict(Evidence(RunRecord(latex_cells=formulas, rendered=pieces, markdown=md), None))
    assert got.status == "unverified" and "characters of Markdown text" in got.note, got
    empty = _notebook([nbformat.v4.new_markdown_cell("## Question 3")])
    formulas, pieces, md = markdown_formulas(empty, [frozenset({3})])
    got = q3.verdict(Evidence(RunRecord(latex_cells=formulas, rendered=pieces, markdown=md), None))
    assert got.status == "missing" and "no section for it" not in got.note, got


def test_markdown_is_read_as_jupyter_renders_it():
    pieces = read_markdown([r"Price \$5 and `$code$`, then $a_i * b_j$ and $$\begin{pmatrix}1\\2\end{pmatrix}$$"])
    formulas = [p.tex for p in pieces if isinstance(p, Formula)]
    assert formulas == ["$a_i * b_j$", r"$$\begin{pmatrix}1\\2\end{pmatrix}$$"]


# --------------------------------------------------------------------------
# one notebook graded end to end in the sandbox: the formula its code displays, with a macro of an earlier cell, is
# the answer; the right formula in an HTML comment is not

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from students import seeded_data

    return seeded_data(tmp_path_factory.mktemp("quizdata"))


def test_a_graded_notebook_reads_q3_as_rendered(tmp_path, data):
    from quiz1.grading import grade_submission
    from quiz1.grading.cohort.batch import Options, make_executor
    from quiz1.grading.running.sandbox import bwrap_problem
    from students import code, make_zip, md

    if bwrap_problem() is not None:
        pytest.skip(f"no sandbox here: {bwrap_problem()}")
    cells = [md(r"# Notation: $\newcommand{\pd}[2]{\frac{\partial #1}{\partial #2}}$"),
             md("## Question 3"), md(f"Derived by hand, then displayed below. <!-- $${R}$$ -->"),
             code("from IPython.display import Math, display\n"
                  r"display(Math(r'\pd{L}{x_i} = (\sigma(s) - y)\sum_j W_{ij} v_j'))")]
    rep = grade_submission(make_zip(tmp_path / "A9300001A.zip", data, {"A9300001A.ipynb": cells}), progress=False,
                           executor=make_executor(Options(threads=1)), data=data, timeout=300, variants=0)
    q3 = rep.questions["Q3"]
    assert q3.status == "wrong", rep.table()          # the displayed formula loses the ReLU path; the comment is unseen
    assert "the TA does not see (in an HTML comment)" in q3.note and "H(" not in q3.found     # read: no ReLU path


def test_a_bare_alternative_after_or_is_offered_for_dl_dx_too():
    assert verdict(f"$${R} \\quad\\text{{or}}\\quad (\\sigma(s) - y)\\sum_j W_{{ij}} v_j$$").status == "unverified"
    assert verdict(f"$${R}$$, or perhaps $$(y - \\sigma(s))\\sum_j W_{{ij}}(\\mathbb 1[f_j>0] + v_j)$$").status == \
        "unverified"


def test_a_hostile_cell_is_read_without_crashing():
    deep = "$$" + LHS + " = " + "{" * 3000 + "y" + "}" * 3000 + "$$"
    assert verdict(deep).status in ("wrong", "unverified")
    many = "$" * 20001 + r"\begin{x}" * 3000
    assert read_markdown([many]) is not None


def test_a_bare_w_is_the_first_layers_matrix_beside_v():
    """Vector form with the matrix written W (its entries W_ij are already read as W^(1)) and v for W^(2): the hand
    derivation in vectors, dL/dX = (sigma(s) - y) W (1[f > 0] + v), is right; with - v it is wrong."""
    from quiz1.grading.questions.equivalence import check_q3

    right = r"$$\nabla_X L = (\sigma(s) - y)\, W\left(\mathbb{1}[f > 0] + v\right)$$"
    assert check_q3([r"$f = W^\top X$", right]).status == "correct"
    assert check_q3([right.replace("+ v", "- v")]).status == "wrong"
