"""Reading what a run shows: the numbers printed (``values``), the sections a notebook is split into
(``sections``), Markdown as the TA sees it rendered (``rendered_markdown``). Nothing here names a question."""
