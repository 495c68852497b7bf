"""Plots of tidy il21pk frames. matplotlib is imported inside each function,
every function takes ``ax=None`` and returns the Axes it drew on, and
nothing is shown: save or show the figure yourself.

Time axes: a frame's ``time_h`` column is in the model's time unit, which
:func:`il21pk.simulate`, :func:`il21pk.sweep` and the other verbs record in
``frame.attrs["time_unit"]`` (hours for il21pk's models, an imported model's
own unit, None when its SBML declares none). A frame without it (e.g. read
back from a CSV) is taken to be in hours: set ``frame.attrs["time_unit"]``
for one of an imported model.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .analysis.results import frame_time_unit, time_axis_label
from .checks import is_real
from .errors import DataError, InputTypeError, OptionError
from .units import time_factor, time_unit_label

#: What the time-course overview shows by default: the chain, one panel per stage.
OVERVIEW = ("il21_plasma", "receptor_occupancy", "pstat3", "nk_blood", "cd8_blood",
            "ifng_plasma")

_LABELS = {
    "il21_plasma": "plasma IL-21", "receptor_occupancy": "IL-21R occupancy",
    "pstat3": "pSTAT3 (fraction of max)", "nk_blood": "circulating NK",
    "cd8_blood": "circulating CD8+ T", "ifng_plasma": "plasma IFN-gamma",
    "nk_total": "total NK", "cd8_total": "total CD8+ T",
    "adcc_index": "ADCC index", "effector_fraction": "activated fraction",
}


#: Columns that tell the curves of a trajectories frame apart.
_CURVE_COLUMNS = ("run", "subject")


def _check_columns(frame: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"frame is missing column(s) {missing}; got {list(frame.columns)}")


def _variables(frame: pd.DataFrame) -> list[str]:
    return sorted(map(str, frame["variable"].unique()))


def _variable_rows(frame: pd.DataFrame, variable: str,
                   needed: Sequence[str] = ("time_h", "variable", "value", "unit")
                   ) -> pd.DataFrame:
    """The rows of one variable of a tidy frame, or a DataError naming those present."""
    _check_columns(frame, needed)
    rows = frame[frame["variable"] == variable]
    if rows.empty:
        raise DataError(f"variable {variable!r} is not in the frame; got {_variables(frame)}")
    return rows


def _check_one_curve(rows: pd.DataFrame, function: str) -> None:
    """A DataError when `rows` hold several runs or subjects, i.e. several curves."""
    for column in _CURVE_COLUMNS:
        if column in rows.columns:
            values = rows[column].dropna().unique().tolist()
            if len(values) > 1:
                shown = ", ".join(map(repr, values[:5])) + (", ..." if len(values) > 5 else "")
                raise DataError(
                    f"{function} draws one curve, but the frame holds {len(values)} values of "
                    f"{column!r} ({shown}); filter it to one, e.g. "
                    f"frame[frame[{column!r}] == {values[0]!r}], or draw their median and "
                    f"spread with plotting.population")


def _check_percentiles(percentiles: object) -> tuple[float, float]:
    """(low, high) of a percentile band, or an error saying what is allowed."""
    allowed = "two numbers (low, high) in percent with 0 <= low < high <= 100, e.g. (5, 95)"
    try:
        pair = tuple(percentiles)
    except TypeError:
        raise InputTypeError(f"`percentiles` must be {allowed}; got {percentiles!r}") from None
    if any(isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating))
           for p in pair):
        raise InputTypeError(f"`percentiles` must be {allowed}; got {percentiles!r}")
    if len(pair) != 2 or not 0 <= pair[0] < pair[1] <= 100:
        raise OptionError(f"`percentiles` must be {allowed}; got {percentiles!r}")
    return float(pair[0]), float(pair[1])


def _band(rows: pd.DataFrame, low: float, high: float) -> pd.DataFrame:
    """Columns low, median, high: the percentiles of ``value`` at each ``time_h``."""
    grouped = rows.groupby("time_h")["value"]
    return pd.DataFrame({"low": grouped.quantile(low / 100),
                         "median": grouped.quantile(0.5),
                         "high": grouped.quantile(high / 100)})


def _time_axis(frame: pd.DataFrame, time_unit: str | None, *,
               hours_as_days: bool) -> tuple[float, str]:
    """(factor, label) of an x axis in `time_unit` for the times of `frame`.

    `time_unit` None: the frame's own unit, except that a frame in hours is
    shown in days when `hours_as_days`. A unit the frame's cannot be
    converted to (an undeclared model time unit) is an OptionError.
    """
    own = frame_time_unit(frame)
    unit = time_unit if time_unit is not None else ("d" if hours_as_days and own == "h"
                                                    else own)
    return time_factor(own, unit), time_unit_label(unit)


def label_for(variable: str, unit: str) -> str:
    """Axis label ``"plasma IL-21 [nM]"``."""
    return f"{_LABELS.get(variable, variable.replace('_', ' '))} [{unit}]"


def time_course(frame: pd.DataFrame, variable: str, *, ax=None,
                time_unit: str | None = None, logy: bool = False, **line_kwargs):
    """Plot one variable of a tidy frame against time.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame with ``time_h, variable, value, unit`` (``SimulationResult.frame``)
        holding one curve: a trajectories frame with several ``run`` or
        ``subject`` values must be filtered to one (or drawn with :func:`population`).
    variable : str
        Which variable to draw.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if None.
    time_unit : str, optional
        Unit of the x axis, one of :data:`il21pk.units.TIME_UNITS`, converted
        from the frame's own (see the module notes). Default: days for a
        frame in hours (il21pk's models), else the frame's own unit.
    logy : bool, optional
        Log-scaled y axis.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    DataError
        If `variable` is not in the frame, or the frame holds several runs or subjects.
    OptionError
        If the frame's times cannot be converted to `time_unit`.
    """
    import matplotlib.pyplot as plt

    rows = _variable_rows(frame, variable)
    _check_one_curve(rows, "time_course")
    # in time order (a bolus's two points at one time keep theirs), so that rows of
    # another order draw the curve, not a zig-zag
    rows = rows.sort_values("time_h", kind="stable")
    factor, label = _time_axis(frame, time_unit, hours_as_days=True)
    if ax is None:
        _, ax = plt.subplots()
    if len(rows) == 1:  # a line of one point is invisible
        line_kwargs = {"marker": "o", **line_kwargs}
    ax.plot(rows["time_h"].to_numpy() * factor, rows["value"].to_numpy(), **line_kwargs)
    ax.set_xlabel(f"time [{label}]")
    ax.set_ylabel(label_for(variable, str(rows["unit"].iloc[0])))
    if logy:
        ax.set_yscale("log")
    return ax


def overview(frame: pd.DataFrame, variables: Sequence[str] = OVERVIEW, *, axes=None,
             title: str | None = None) -> np.ndarray:
    """One panel per variable (default: the chain from plasma IL-21 to IFN-gamma).

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame of one curve per variable, as for :func:`time_course`.
    variables : str or sequence of str, optional
        One panel each.
    axes : array of matplotlib.axes.Axes, optional
        Where to draw (at least one per variable); a new figure if None.
    title : str, optional
        Title of a new figure.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes

    Raises
    ------
    DataError
        If a variable is not in the frame, or the frame holds several runs or subjects.
    OptionError
        If `axes` has fewer panels than `variables`.
    """
    import matplotlib.pyplot as plt

    variables = [variables] if isinstance(variables, str) else list(variables)
    if axes is None:
        ncols = 3
        nrows = -(-len(variables) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows),
                                 layout="constrained")
        if title:
            fig.suptitle(title)
    axes = np.atleast_1d(axes).ravel()
    if len(axes) < len(variables):
        raise OptionError(f"overview draws one panel per variable: {len(variables)} variables "
                          f"need {len(variables)} axes; got {len(axes)}")
    for variable, ax in zip(variables, axes, strict=False):
        time_course(frame, variable, ax=ax, color="C0")
    for ax in axes[len(variables):]:
        ax.set_visible(False)
    return axes


def population(frame: pd.DataFrame, variable: str, *, ax=None, percentiles=(5, 95),
               time_unit: str | None = None, color: str = "C0", label: str | None = None):
    """Median and a percentile band over runs/subjects of a trajectories frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Trajectories (``sweep(..., output="trajectories")``): ``time_h,
        variable, value, unit`` and one curve per ``run`` or ``subject``.
    variable : str
    percentiles : (float, float), optional
        Band limits in percent, ``0 <= low < high <= 100`` (default 5-95).
    time_unit : str, optional
        Unit of the x axis, as for :func:`time_course` (default: days for a
        frame in hours, else the frame's own unit).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputTypeError
        If `percentiles` is not a pair of numbers.
    OptionError
        If `percentiles` is not ``0 <= low < high <= 100``.
    DataError
        If no value of `variable` is finite (every run failed).

    Warns
    -----
    UserWarning
        If some runs failed (``success`` False): the band is of the others.
    """
    import matplotlib.pyplot as plt

    low, high = _check_percentiles(percentiles)
    rows = _variable_rows(frame, variable)
    if not np.isfinite(rows["value"].to_numpy(dtype=float)).any():
        raise DataError(f"every value of {variable} is NaN or inf (failed runs?): nothing "
                        "to draw")
    key = next((c for c in ("run", "subject") if c in rows.columns), None)
    if key is not None and "success" in rows.columns:
        failed = rows.loc[~rows["success"].astype(bool), key].nunique()
        if failed:
            warnings.warn(f"population: {failed} of {rows[key].nunique()} {key}s failed; the "
                          "median and band are of the others", UserWarning, stacklevel=2)
    factor, time_label = _time_axis(frame, time_unit, hours_as_days=True)
    if ax is None:
        _, ax = plt.subplots()
    stats = _band(rows, low, high)
    t = stats.index.to_numpy() * factor
    ax.fill_between(t, stats["low"], stats["high"], color=color, alpha=0.25,
                    label=f"{low:g}-{high:g}th percentile")
    ax.plot(t, stats["median"], color=color, label=label or "median")
    ax.set_xlabel(f"time [{time_label}]")
    ax.set_ylabel(label_for(variable, str(rows["unit"].iloc[0])))
    ax.legend(frameon=False)
    return ax


def _band_label(fit) -> str:
    """Legend entry of an Emax fit's band: its level and where it comes from."""
    kind = "CI" if fit.interval == "wald" else "band over parameter draws"
    return f"{100 * fit.level:g} % {kind}"


def dose_response(result, *, ax=None, band: bool | None = None):
    """Dose-response points, fitted Emax/Hill curve and its band (log dose axis).

    The dose-0 control has no place on the log dose axis: its values are
    drawn as open squares on the left edge of the axes, labelled as such.

    Parameters
    ----------
    result : DoseResponseResult
    band : bool, optional
        Draw the interval of the fitted curve, at the fit's ``level``;
        default: when the result carries parameter uncertainty
        (``dose_response(..., uncertainty=...)``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    f = result.frame
    dosed, control = f[f["dose"] > 0], f[f["dose"] == 0]
    ax.plot(dosed["dose"], dosed["value"], "o", color="C0", label="simulated")
    if not control.empty:
        ax.plot(np.zeros(len(control)), control["value"], "s", color="C0", mfc="none",
                transform=ax.get_yaxis_transform(), clip_on=False,
                label="dose 0 (control), at the left edge")
    if result.fit is not None:
        grid = np.geomspace(dosed["dose"].min(), dosed["dose"].max(), 200)
        ax.plot(grid, result.fit.predict(grid), "-", color="C1", label="Emax/Hill fit")
        if result.fit.has_uncertainty if band is None else band:
            low, high = result.fit.band(grid)
            ax.fill_between(grid, low, high, color="C1", alpha=0.2,
                            label=_band_label(result.fit))
        ed50 = result.fit.table.set_index("name").loc["ed50", "estimate"]
        ax.axvline(ed50, color="grey", ls=":", label=f"ED50 = {ed50:.3g} {result.unit}")
    ax.set_xscale("log")
    ax.set_xlabel(f"dose [{result.unit}]")
    ax.set_ylabel(f"{result.endpoint} of {label_for(result.response, result.value_unit)}")
    ax.legend(frameon=False)
    return ax


def sweep_heatmap(frame: pd.DataFrame, x: str, y: str, *, variable: str, metric: str, ax=None,
                  log: bool = True, cmap: str = "viridis"):
    """A 2-D sweep summary as a heatmap of one variable's metric over two swept columns.

    Parameters
    ----------
    frame : pandas.DataFrame
        A sweep summary (``sweep(..., output="summary")``) holding one row per
        (`x`, `y`) cell for `variable` and `metric`: filter a sweep over more
        parameters to one value of each of the others first.
    x, y : str
        The swept columns of the horizontal and vertical axes.
    variable, metric : str
        Which rows to draw.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if None.
    log : bool, optional
        Log colour scale (the default); every value drawn must then be > 0.
    cmap : str, optional
        Matplotlib colour map.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    DataError
        If a column is missing, no rows match, a cell holds several rows
        (another column varies), or `log` is True and a value is <= 0.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    _check_columns(frame, [x, y, "variable", "metric", "value", "unit"])
    rows = frame[(frame["variable"] == variable) & (frame["metric"] == metric)]
    if rows.empty:
        raise DataError(f"no rows for variable {variable!r} and metric {metric!r}")
    repeated = rows[rows.duplicated([x, y], keep=False)]
    if not repeated.empty:
        settled = {x, y, "run", "variable", "metric", "value", "unit", "success", "message"}
        varying = [c for c in rows.columns
                   if c not in settled and rows[c].nunique(dropna=False) > 1]
        first = repeated[[x, y]].to_numpy(dtype=object)[0].tolist()
        why = (f"the other varying column(s) {varying}: filter the frame to one value of each"
               if varying else "no other column tells them apart: drop the repeated rows")
        raise DataError(f"sweep_heatmap draws one value per ({x}, {y}) cell, but the frame "
                        f"holds several rows of {variable} {metric} per cell (e.g. "
                        f"{x}={first[0]!r}, {y}={first[1]!r}) over {why}")
    table = rows.pivot(index=y, columns=x, values="value")
    values = table.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if not finite.size:
        raise DataError(f"every {metric} of {variable} is NaN or inf (failed runs, or a "
                        f"metric the variable does not have): nothing to draw")
    if log and (finite <= 0).any():
        raise DataError(f"log=True (the default) needs every {metric} of {variable} > 0; "
                        f"the smallest is {finite.min():g}: pass log=False for a linear "
                        f"colour scale")
    if ax is None:
        _, ax = plt.subplots()
    mesh = ax.pcolormesh(np.arange(table.shape[1] + 1), np.arange(table.shape[0] + 1),
                         np.ma.masked_invalid(values), cmap=cmap, shading="flat",
                         norm=LogNorm() if log else None)
    ax.set_xticks(np.arange(table.shape[1]) + 0.5, [_tick(v) for v in table.columns])
    ax.set_yticks(np.arange(table.shape[0]) + 0.5, [_tick(v) for v in table.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    bar = ax.figure.colorbar(mesh, ax=ax)
    bar.set_label(f"{metric} of {variable} [{rows['unit'].iloc[0]}]")
    return ax


def _tick(value: object) -> str:
    """A swept value as a tick label: a number compactly, anything else (a regimen
    label) as it is."""
    return f"{value:g}" if is_real(value) else str(value)


def nca_profile(frame: pd.DataFrame, nca_row: pd.Series, *, variable: str | None = None,
                ax=None, time_unit: str | None = None):
    """A curve on a log axis with its terminal-phase (lambda_z) points and fitted line.

    Parameters
    ----------
    frame : pandas.DataFrame
        The curve (``time_h, value``), e.g. a simulation's tidy frame.
    nca_row : pandas.Series
        Its row of :func:`il21pk.nca` (computed on the same times).
    variable : str, optional
        The variable to draw; needed when the frame holds several. A frame
        with several runs or subjects must be filtered to one curve.
    time_unit : str, optional
        Unit of the x axis and of the half-life shown, converted from the
        frame's own (see the module notes); default the frame's own.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    DataError
        If `variable` is not in the frame, is not given for a frame holding
        several, or the frame holds several runs or subjects.
    """
    import matplotlib.pyplot as plt

    _check_columns(frame, ["time_h", "value"])
    if variable is not None:
        rows = _variable_rows(frame, variable, needed=("time_h", "variable", "value"))
    elif "variable" in frame.columns and frame["variable"].nunique() > 1:
        raise DataError(f"the frame holds several variables, {_variables(frame)}: choose "
                        f"one with variable=")
    else:
        rows = frame
        if "variable" in frame.columns and not frame.empty:
            variable = str(frame["variable"].iloc[0])
    _check_one_curve(rows, "nca_profile")
    factor, label = _time_axis(frame, time_unit, hours_as_days=False)
    if ax is None:
        _, ax = plt.subplots()
    t, c = rows["time_h"].to_numpy(), rows["value"].to_numpy()
    shown = c > 0
    ax.plot(t[shown] * factor, c[shown], "o-", color="C0", ms=3, label="observed")
    needed = ["lambda_z", "lambda_z_t_first", "lambda_z_t_last", "lambda_z_n", "half_life"]
    missing = [key for key in needed if key not in nca_row]
    if missing:
        raise DataError(f"nca_profile: nca_row lacks {missing}; pass a row of il21pk.nca")
    lo, hi = nca_row["lambda_z_t_first"], nca_row["lambda_z_t_last"]
    used = (t >= lo) & (t <= hi) & shown
    if np.isfinite(nca_row["lambda_z"]) and not used.any():
        raise DataError(f"nca_profile: the frame has no value > 0 in nca_row's terminal phase "
                        f"[{lo:g}, {hi:g}] (time_h); pass the NCA row of this curve")
    ax.plot(t[used] * factor, c[used], "o", color="C3", ms=7, mfc="none",
            label=f"terminal phase (n={int(nca_row['lambda_z_n'])})")
    if np.isfinite(nca_row["lambda_z"]):
        line_t = np.array([lo, t[shown].max()])
        c_lo = c[used][0]
        ax.plot(line_t * factor, c_lo * np.exp(-nca_row["lambda_z"] * (line_t - lo)), "--",
                color="C3", label=f"t1/2 = {nca_row['half_life'] * factor:.3g} {label}")
    ax.set_yscale("log")
    ax.set_xlabel(f"time [{label}]")
    unit = f" [{rows['unit'].iloc[0]}]" if "unit" in rows else ""
    ax.set_ylabel(f"{variable or 'value'}{unit}")
    ax.legend(frameon=False)
    return ax


GOF_KINDS = ("observed_vs_predicted", "wres_vs_time", "wres_vs_predicted")


def goodness_of_fit(fit, kind: str = "observed_vs_predicted", *, variable: str | None = None,
                    ax=None, log: bool = False):
    """Goodness-of-fit scatter from a :class:`~il21pk.FitResult`'s residuals.

    Parameters
    ----------
    fit : FitResult
    kind : {'observed_vs_predicted', 'wres_vs_time', 'wres_vs_predicted'}
    variable : str, optional
        One observed variable (default: all, one colour each).
    log : bool, optional
        Log axes for observed vs predicted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if kind not in GOF_KINDS:
        raise OptionError(f"goodness_of_fit: kind must be one of {list(GOF_KINDS)}; got "
                          f"{kind!r}")
    res = fit.residuals
    if variable is not None:
        _check_observed(res, "goodness_of_fit", variable)
        res = res[res["variable"] == variable]
    if ax is None:
        _, ax = plt.subplots()
    for i, (var, rows) in enumerate(res.groupby("variable", sort=False)):
        ok = ~rows["blq"]
        if kind == "observed_vs_predicted":
            ax.plot(rows["predicted"][ok], rows["observed"][ok], "o", color=f"C{i}", ms=4,
                    label=f"{var} [{rows['unit'].iloc[0]}]")
        else:
            x = rows["time_h"] if kind == "wres_vs_time" else rows["predicted"]
            ax.plot(x[ok], rows["weighted_residual"][ok], "o", color=f"C{i}", ms=4, label=var)
    if kind == "observed_vs_predicted":
        ok = res[~res["blq"]]
        lims = [min(ok["predicted"].min(), ok["observed"].min()),
                max(ok["predicted"].max(), ok["observed"].max())]
        ax.plot(lims, lims, "k--", lw=1, label="identity")
        ax.set_xlabel("predicted")
        ax.set_ylabel("observed")
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
    else:
        for level in (-2, 0, 2):
            ax.axhline(level, color="grey", ls="-" if level == 0 else ":", lw=1)
        ax.set_xlabel(time_axis_label(fit.residuals) if kind == "wres_vs_time" else "predicted")
        ax.set_ylabel("weighted residual [SD]")
    ax.legend(frameon=False, fontsize=8)
    return ax


def _check_observed(residuals: pd.DataFrame, where: str, variable: object) -> None:
    observed = sorted(map(str, residuals["variable"].unique()))
    if not isinstance(variable, str) or variable not in observed:
        raise DataError(f"{where}: variable {variable!r} was not observed; the fit's "
                        f"observed variables: {observed}")


def individual_fit(fit, subject, variable: str, *, ax=None, t_end: float | None = None):
    """Observations of one subject and variable with the fitted curve.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    res = fit.residuals
    _check_observed(res, "individual_fit", variable)
    rows = res[(res["subject"] == subject) & (res["variable"] == variable)]
    if rows.empty:
        having = [str(s) for s in res.loc[res["variable"] == variable, "subject"].unique()]
        raise DataError(f"individual_fit: subject {subject!r} has no observations of "
                        f"{variable!r}; the first subjects with some: {having[:10]}")
    if ax is None:
        _, ax = plt.subplots()
    end = t_end or float(rows["time_h"].max())
    curve = fit.predict(subject=subject, t_end=end,
                        t_eval=np.linspace(0.0, end, 400)).frame
    curve = curve[curve["variable"] == variable]
    ax.plot(curve["time_h"], curve["value"], "-", color="C1", label="fit")
    ok = ~rows["blq"]
    ax.plot(rows["time_h"][ok], rows["observed"][ok], "o", color="C0", label="observed")
    if (~ok).any():
        ax.plot(rows["time_h"][~ok], rows["observed"][~ok], "v", color="grey", label="BLQ (LLOQ)")
    ax.set_xlabel(time_axis_label(res))
    ax.set_ylabel(label_for(variable, str(rows["unit"].iloc[0])))
    ax.set_title(f"subject {subject}", fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    return ax


def posterior_predictive_check(fit, variable: str, *, n: int = 200, seed=None, ax=None,
                               percentiles=(5, 95)):
    """Posterior predictive check of a single fit: observations over simulated bands.

    Replicates come from :meth:`FitResult.simulate_observations`: parameter
    vectors drawn from the estimate's uncertainty (not between-subject
    variability) plus residual error. Bands are the median and `percentiles`
    across replicates at each sampling time. For a visual predictive check
    with between-subject variability, fit a population model
    (:func:`il21pk.fit_population`) and call :func:`vpc` on its result.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    low, high = _check_percentiles(percentiles)
    _check_observed(fit.residuals, "posterior_predictive_check", variable)
    sims = fit.simulate_observations(n, seed=seed)
    sims = sims[sims["variable"] == variable]
    if ax is None:
        _, ax = plt.subplots()
    q = _band(sims, low, high)
    ax.fill_between(q.index, q["low"], q["high"], color="C0", alpha=0.2,
                    label=f"simulated {low:g}-{high:g}th pct")
    ax.plot(q.index, q["median"], color="C0", label="simulated median")
    obs = fit.residuals[fit.residuals["variable"] == variable]
    ax.plot(obs["time_h"], obs["observed"], "o", color="k", ms=3, label="observed")
    ax.set_xlabel(time_axis_label(fit.residuals))
    ax.set_ylabel(label_for(variable, str(obs["unit"].iloc[0])))
    ax.legend(frameon=False, fontsize=8)
    return ax


def vpc(result, variable: str | None = None, *, ax=None, **kwargs):
    """Visual predictive check.

    For a :class:`~il21pk.PopulationFitResult`: a binned VPC simulated with
    between-subject variability and residual error, observed percentiles
    over the confidence intervals of the simulated ones (see
    :meth:`PopulationFitResult.plot_vpc`). For a single-fit
    :class:`~il21pk.FitResult` there is no between-subject variability to
    simulate: this draws :func:`posterior_predictive_check`, the name under
    which it is kept.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if hasattr(result, "plot_vpc"):
        return result.plot_vpc(variable, ax=ax, **kwargs)
    if variable is None:
        raise ValueError("give the observed `variable` to check")
    return posterior_predictive_check(result, variable, ax=ax, **kwargs)


def tornado(sensitivity: pd.DataFrame, *, output: str | None = None,
            metric: str | None = None, ax=None):
    """Horizontal bars of local normalised sensitivities, largest |value| on top.

    Parameters
    ----------
    sensitivity : pandas.DataFrame
        From ``sensitivity(..., method="local")``.
    output, metric : str, optional
        Which bars to draw; default those of the first row.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if None.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    DataError
        If `sensitivity` holds no local normalised sensitivities.
    """
    import matplotlib.pyplot as plt

    _check_columns(sensitivity, ["parameter", "output", "metric", "index", "value"])
    rows = sensitivity[sensitivity["index"] == "normalised"]
    if rows.empty:
        raise DataError(f"`sensitivity` holds no local normalised sensitivities (rows with "
                        f"index 'normalised', from sensitivity(..., method='local')); its "
                        f"index column holds {sorted(map(str, sensitivity['index'].unique()))}")
    output = output or rows["output"].iloc[0]
    metric = metric or rows["metric"].iloc[0]
    rows = rows[(rows["output"] == output) & (rows["metric"] == metric)]
    if rows.empty:
        raise ValueError(f"no local sensitivities for output {output!r} and metric {metric!r}")
    rows = rows.reindex(rows["value"].abs().sort_values().index)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(rows) + 1.5))
    colors = np.where(rows["value"] >= 0, "C0", "C3")
    ax.barh(rows["parameter"], rows["value"], color=colors)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"d ln {metric}({output}) / d ln parameter")
    return ax


def sobol_bars(sensitivity: pd.DataFrame, *, output: str | None = None,
               metric: str | None = None, ax=None):
    """First-order and total Sobol indices with their confidence intervals.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    _check_columns(sensitivity, ["parameter", "output", "metric", "index", "value", "conf"])
    rows = sensitivity[sensitivity["index"].isin(["S1", "ST"])]
    if rows.empty:
        raise DataError(f"`sensitivity` holds no Sobol indices (rows with index 'S1' or 'ST', "
                        f"from sensitivity(..., method='sobol')); its index column holds "
                        f"{sorted(map(str, sensitivity['index'].unique()))}")
    output = output or rows["output"].iloc[0]
    metric = metric or rows["metric"].iloc[0]
    rows = rows[(rows["output"] == output) & (rows["metric"] == metric)]
    if rows.empty:
        raise ValueError(f"no Sobol indices for output {output!r} and metric {metric!r}")
    table = rows.pivot(index="parameter", columns="index", values=["value", "conf"])
    table = table.sort_values(("value", "ST"), ascending=False)
    if ax is None:
        _, ax = plt.subplots()
    x = np.arange(len(table))
    for offset, index, color in ((-0.2, "S1", "C0"), (0.2, "ST", "C1")):
        ax.bar(x + offset, table[("value", index)], width=0.4, color=color, label=index,
               yerr=table[("conf", index)], capsize=3)
    ax.set_xticks(x, table.index)
    ax.set_ylabel(f"Sobol index of {metric}({output})")
    ax.legend(frameon=False)
    return ax
