"""What the questions' ``figure`` hooks share: a matplotlib figure drawn off-screen, and as a PNG data URI (the
review pages embed it or serve its bytes; report.html carries it inline)."""
from __future__ import annotations

import base64
import io


def subplots(ncols: int = 1, figsize: tuple = (3.6, 2.2)):
    """(figure, list of ``ncols`` axes) on matplotlib's off-screen Agg backend, at 72 dpi."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=figsize, dpi=72, squeeze=False)
    return fig, list(axes[0])


def data_uri(fig) -> str:
    """``fig`` as a PNG data URI ("data:image/png;base64,..."), the figure closed."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
