"""The marking page, ``quiz1 review``: the queue, an item, an answer group, a student, the live report (``review``,
``group_review``). It sits on top of the marks (``marks/``) and the class (``cohort/``): every write goes through the
gradebook, behind the origin, token and JSON checks of ``review.write``."""
