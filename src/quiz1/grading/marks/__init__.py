"""Marks: the rubric (``rubric``, ``rubric.toml``), the gradebook of machine verdicts and the TAs' marks
(``gradebook``), the review page (``review``), and the CSV, Canvas and feedback exports (``export``)."""
