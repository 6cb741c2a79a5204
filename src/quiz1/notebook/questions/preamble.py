# %% [markdown]
# # CS5242 (Aug 2023) Quiz 1 — {{STUDENT_ID}}
#
# This notebook is self-contained: run it from the unzipped folder (`Q_1/ Q_4/ Q_5/ Q_6/` beside it)
# with *Run All*; it needs only third-party libraries (numpy, torch, …). Every required answer is
# shown in a green **Answer** box.
#
# **Data.** {{DATA_DESCRIPTION}}
#
# **Assumptions made.**
# {{ASSUMPTIONS}}
#
# **How each question reads.** What is asked, the method in a few lines, the short driver code with its
# outputs and plots, then the green Answer box. The longer solver code runs first but its cells are
# collapsed: they come from the `quiz1` package's own modules, and the first line of each names its file.
#
# **Contents**
#
# {{CONTENTS}}

# %% [markdown]
# <small>▸ The values this notebook was built with (collapsed: click to expand). The cell is tagged `parameters`, so
# `papermill` can run the notebook with others.</small>

# %% tags=["parameters"]
STUDENT_ID = "A0000000X"
DATA_DESCRIPTION = "the quiz's data files"  # quoted in the text above

# %%
# setup shared by every question
import numpy as np

np.set_printoptions(precision=6, suppress=False, linewidth=110)

# %% solver="quiz1.notebook.answer"
from quiz1.notebook.answer import show_answer  # noqa: F401  (every question ends with it)
