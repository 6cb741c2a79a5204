"""Marks: the rubric (``rubric``, ``rubric.toml``), the gradebook of machine verdicts and the TAs' marks
(``gradebook``), answer groups (``groups``), the class summary (``summary``), and the CSV, Canvas and feedback
exports (``export``). The page a TA marks on is ``web/``."""
