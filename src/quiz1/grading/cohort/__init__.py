"""The class: a folder of zips graded, with its report.html and class.csv (``batch``), and the pairs of similar
submissions (``similarity``)."""
