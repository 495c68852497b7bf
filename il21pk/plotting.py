"""Plots of tidy il21pk frames. matplotlib is imported inside each function,
every function takes ``ax=None`` and returns the Axes it drew on, and
nothing is shown: save or show the figure yourself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: What the time-course overview shows by default: the chain, one panel per stage.
OVERVIEW = ("il21_plasma", "receptor_occupancy", "pstat3", "nk_blood", "cd8_blood",
            "ifng_plasma")

_LABELS = {
    "il21_plasma": "plasma IL-21", "receptor_occupancy": "IL-21R occupancy",
    "pstat3": "pSTAT3 (fraction of max)", "nk_blood": "circulating NK",
    "cd8_blood": "circulating CD8+ T", "ifng_plasma": "plasma IFN-gamma",
    "adcc_index": "ADCC index", "effector_fraction": "activated fraction",
}


def _check_columns(frame: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"frame is missing column(s) {missing}; got {list(frame.columns)}")


def label(variable: str, unit: str) -> str:
    """Axis label ``"plasma IL-21 [nM]"``."""
    return f"{_LABELS.get(variable, variable.replace('_', ' '))} [{unit}]"


def time_course(frame: pd.DataFrame, variable: str, *, ax=None, time_unit: str = "d",
                logy: bool = False, **line_kwargs):
    """Plot one variable of a tidy frame against time.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame with ``time_h, variable, value, unit`` (``SimulationResult.frame``).
    variable : str
        Which variable to draw.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if None.
    time_unit : {'d', 'h'}, optional
        Unit of the x axis. Default days.
    logy : bool, optional
        Log-scaled y axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    _check_columns(frame, ["time_h", "variable", "value", "unit"])
    rows = frame[frame["variable"] == variable]
    if rows.empty:
        raise ValueError(f"variable {variable!r} is not in the frame; got "
                         f"{sorted(map(str, frame['variable'].unique()))}")
    if time_unit not in ("d", "h"):
        raise ValueError(f"time_unit must be 'd' or 'h'; got {time_unit!r}")
    if ax is None:
        _, ax = plt.subplots()
    scale = 24.0 if time_unit == "d" else 1.0
    ax.plot(rows["time_h"].to_numpy() / scale, rows["value"].to_numpy(), **line_kwargs)
    ax.set_xlabel(f"time [{time_unit}]")
    ax.set_ylabel(label(variable, str(rows["unit"].iloc[0])))
    if logy:
        ax.set_yscale("log")
    return ax


def overview(frame: pd.DataFrame, variables: Sequence[str] = OVERVIEW, *, axes=None,
             title: str | None = None) -> np.ndarray:
    """One panel per variable (default: the chain from plasma IL-21 to IFN-gamma).

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if axes is None:
        ncols = 3
        nrows = -(-len(variables) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows),
                                 layout="constrained")
        if title:
            fig.suptitle(title)
    axes = np.atleast_1d(axes).ravel()
    for variable, ax in zip(variables, axes, strict=False):
        time_course(frame, variable, ax=ax, color="C0")
    for ax in axes[len(variables):]:
        ax.set_visible(False)
    return axes
