"""The untrusted run.

The zip unwrapped and the TA's data put in place (``layout``, ``datasets``);
the notebook run in a fresh kernel, sandboxed, cell by cell, with a cause for
every way it can end (``run``, ``sandbox``, ``interpreter``, ``canary``,
``causes``); the grader's own cells in that kernel and its runs apart from it
(``probes``, with the code they inject in ``kernel/``); and what one run left
(``execution``). Nothing here names a question: the question modules say which
cells they need and what they run apart.
"""
