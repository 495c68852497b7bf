"""Seeded parameter samples: Latin hypercube, Sobol, and virtual populations.

Every sampler takes ``seed`` (an int or a ``numpy.random.Generator``): the
same seed gives the same numbers on any machine and with any executor,
because sampling happens once, in the calling process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import qmc

from ..checks import is_integer, is_real
from ..errors import InputTypeError, OptionError, ParameterError
from ..model import Model
from ..parameters import ParameterSet, unknown_name_error

#: Allometric exponents applied when body weight varies (reference: the set's body weight).
#: Default allometric exponents: clearances 0.75, volumes 1 (West 1997; the usual
#: PK convention), and the receptor-bearing lymphocytes 1 (assumed: lymphoid mass
#: and blood volume scale with body weight, so the receptor sink concentration
#: per central volume stays constant across weights).
ALLOMETRY = {"cl": 0.75, "q": 0.75, "v_central": 1.0, "v_peripheral": 1.0,
             "receptor_cells": 1.0}


def check_bounds(bounds: Mapping[str, tuple[float, float]], params: ParameterSet | None,
                 scale: str | Mapping[str, str]) -> tuple[list[str], np.ndarray, np.ndarray,
                                                          list[bool]]:
    """Names, lows, highs and log flags of sampling bounds, checked (against `params`)."""
    if not isinstance(bounds, Mapping):
        raise InputTypeError(f"bounds must be a mapping {{name: (low, high)}}; got "
                             f"{type(bounds).__name__}")
    if not bounds:
        raise ParameterError("bounds must name at least one parameter; got none")
    if not isinstance(scale, (str, Mapping)):
        raise InputTypeError(f"scale must be 'log', 'linear' or a mapping; got {scale!r}")
    if isinstance(scale, Mapping) and set(scale) - set(bounds):
        raise ParameterError(f"scale names {sorted(set(scale) - set(bounds), key=str)}, which "
                             f"`bounds` does not; bounds: {list(bounds)}")
    if params is not None and not isinstance(params, ParameterSet):
        raise InputTypeError(f"params must be a ParameterSet; got {type(params).__name__}")
    names, lows, highs, logs = [], [], [], []
    for name, pair in bounds.items():
        if params is not None and name not in params:
            raise unknown_name_error(name, params)
        not_a_pair = ParameterError(f"bounds[{name!r}] must be a (low, high) pair of numbers "
                                    f"(real, not text, booleans or a mapping); got {pair!r}")
        items = pair.tolist() if isinstance(pair, (np.ndarray, pd.Series, pd.Index)) else pair
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) \
                or len(items) != 2 or not all(is_real(x) for x in items):
            raise not_a_pair
        try:
            low, high = float(items[0]), float(items[1])
        except OverflowError:  # an integer too large for a float
            raise not_a_pair from None
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ParameterError(f"bounds[{name!r}] must be finite with low < high; got {pair!r}")
        if params is not None:
            p = params[name]
            if low < p.lower or high > p.upper:
                raise ParameterError(f"bounds[{name!r}] = {pair!r} leave the hard bounds "
                                     f"[{p.lower:g}, {p.upper:g}] {p.unit}")
        kind = scale if isinstance(scale, str) else scale.get(name, "log")
        if kind not in ("log", "linear"):
            raise ParameterError(f"scale for {name!r} must be 'log' or 'linear'; got {kind!r}")
        if kind == "log" and low <= 0:
            raise ParameterError(f"bounds[{name!r}] must be > 0 on a log scale; got {pair!r}")
        names.append(name)
        lows.append(low)
        highs.append(high)
        logs.append(kind == "log")
    return names, np.array(lows), np.array(highs), logs


def _to_frame(unit_cube: np.ndarray, names, lows, highs, logs) -> pd.DataFrame:
    out = {}
    for j, name in enumerate(names):
        u = unit_cube[:, j]
        if logs[j]:
            out[name] = np.exp(np.log(lows[j]) + u * (np.log(highs[j]) - np.log(lows[j])))
        else:
            out[name] = lows[j] + u * (highs[j] - lows[j])
    return pd.DataFrame(out)


def latin_hypercube(bounds: Mapping[str, tuple[float, float]], n: int, *,
                    scale: str | Mapping[str, str] = "log", seed=None,
                    params: ParameterSet | None = None) -> pd.DataFrame:
    """`n` Latin hypercube samples within `bounds`.

    Parameters
    ----------
    bounds : mapping of str to (float, float)
        ``{name: (low, high)}`` in each parameter's unit.
    n : int
        Number of samples.
    scale : {'log', 'linear'} or mapping, optional
        Sampling scale, for all or per parameter. Default ``"log"``.
    seed : int or numpy.random.Generator, optional
    params : ParameterSet, optional
        If given, names and hard bounds are checked against it.

    Returns
    -------
    pandas.DataFrame
        One column per parameter, one row per sample.
    """
    names, lows, highs, logs = check_bounds(bounds, params, scale)
    n = _check_n(n)
    sampler = qmc.LatinHypercube(d=len(names), rng=_qmc_generator(seed))
    return _to_frame(sampler.random(n), names, lows, highs, logs)


def sobol_samples(bounds: Mapping[str, tuple[float, float]], n: int, *,
                  scale: str | Mapping[str, str] = "log", seed=None,
                  params: ParameterSet | None = None) -> pd.DataFrame:
    """`n` scrambled Sobol samples (n a power of 2) within `bounds`; see :func:`latin_hypercube`."""
    names, lows, highs, logs = check_bounds(bounds, params, scale)
    n = _check_n(n)
    if n & (n - 1):
        raise ParameterError(f"Sobol samples need n to be a power of 2 (balance); got {n}")
    sampler = qmc.Sobol(d=len(names), scramble=True, rng=_qmc_generator(seed))
    return _to_frame(sampler.random_base2(int(np.log2(n))), names, lows, highs, logs)


#: Most samples one call may draw (each is a row of a frame and, later, a simulation).
MAX_SAMPLES = 10_000_000


def _check_n(n: object) -> int:
    if not is_integer(n) or n < 1:
        raise ParameterError(f"n must be an integer >= 1; got {n!r}")
    if n > MAX_SAMPLES:
        raise ParameterError(f"n must be <= MAX_SAMPLES = {MAX_SAMPLES:,}; got {n:,}")
    return int(n)


def as_generator(seed: object) -> np.random.Generator:
    """A Generator from `seed`: what ``numpy.random.default_rng`` takes (None, an
    integer >= 0 or a sequence of them, a SeedSequence, a BitGenerator or a
    Generator), but no bool, float or string; else an OptionError."""
    if not isinstance(seed, (bool, float, np.floating, str, bytes)):
        try:
            return np.random.default_rng(seed)
        except (TypeError, ValueError):
            pass
    raise OptionError(f"`seed` must be None, an integer >= 0 (or a sequence of them), a "
                      f"numpy SeedSequence or Generator; got {seed!r}"[:300])


def _qmc_generator(seed: object) -> np.random.Generator:
    """:func:`as_generator` for scipy's quasi-random samplers, which spawn from the
    generator's seed sequence: a legacy RandomState has none, so a new generator
    is seeded from it (the same RandomState state gives the same samples)."""
    rng = as_generator(seed)
    if getattr(rng.bit_generator, "seed_seq", None) is None:
        rng = np.random.default_rng(rng.integers(2**63))
    return rng


def virtual_population(params: ParameterSet, n: int, variability: Mapping[str, float], *,
                       correlations: Mapping[tuple[str, str], float] | None = None,
                       body_weight: Mapping[str, float] | None = None,
                       allometry: Mapping[str, float] | None = None,
                       model: Model | None = None, seed=None) -> pd.DataFrame:
    r"""Sample `n` individuals with log-normal inter-individual variability.

    For each parameter in `variability`, :math:`\theta_i = \theta\,e^{\eta_i}` with
    :math:`\eta \sim N(0, \Omega)`, :math:`\Omega_{jj} = \omega_j^2` and
    :math:`\Omega_{jk} = \rho_{jk}\,\omega_j\,\omega_k`. Fractions bounded by
    [0, 1] (``f_sc``, ...) vary on the logit scale instead, so they stay in range.

    Parameters
    ----------
    params : ParameterSet
        Typical values.
    n : int
        Number of individuals.
    variability : mapping of str to float
        :math:`\omega` (SD of :math:`\eta`) per parameter; 0.3 is about 30 % CV.
        A parameter whose typical value is 0 cannot vary (refused).
    correlations : mapping of (str, str) to float, optional
        :math:`\rho` between pairs of varied parameters.
    body_weight : mapping, optional
        ``{"median": kg, "cv": fraction}``: log-normal body weights; clearances
        and volumes then scale allometrically (`allometry`, default
        :data:`ALLOMETRY`) relative to the set's ``body_weight``, on top of
        their own variability.
    allometry : mapping of str to float, optional
        Exponents of the parameters scaled with body weight (only with
        `body_weight`; ``body_weight`` itself is not an entry); default
        :data:`ALLOMETRY`, restricted to the parameters of `params` (and of
        `model`, if given).
    model : Model, optional
        The model the population is for. The default allometry then scales
        only parameters it reads: model v2 (``Model()``) scales its PK with
        ``body_weight`` itself, so only ``receptor_cells`` is scaled here;
        model v1 reads ``cl``, ``q``, ``v_central``, ``v_peripheral`` too.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    pandas.DataFrame
        ``subject`` then one column per varied parameter (and ``body_weight``
        plus the allometrically scaled parameters when weights vary).
    """
    if not isinstance(params, ParameterSet):
        raise InputTypeError(f"`params` must be an il21pk ParameterSet; got "
                             f"{type(params).__name__}")
    n = _check_n(n)
    if model is not None and not isinstance(model, Model):
        raise InputTypeError(f"`model` must be an il21pk Model or None; got "
                             f"{type(model).__name__}")
    if not isinstance(variability, Mapping):
        raise InputTypeError(f"`variability` must be a mapping {{parameter: omega}}; got "
                             f"{type(variability).__name__}")
    names = list(variability)
    for name in names:
        if name not in params:
            raise unknown_name_error(name, params)
        omega = variability[name]
        if not (is_real(omega) and np.isfinite(omega) and omega >= 0):
            raise ParameterError(f"variability[{name!r}] must be a number >= 0; got {omega!r}")
        if omega > 0 and params.value(name) == 0:
            raise ParameterError(
                f"variability[{name!r}] = {omega!r}, but its typical value is "
                f"{params.value(name):g} {params[name].unit}: log-normal variability "
                "(value x exp(eta)) would leave every individual at that value. Give the "
                "set a typical value other than 0 first (params.with_values(...)), or draw it "
                "yourself (latin_hypercube) and add the column")
    omegas = np.array([float(variability[k]) for k in names])
    if correlations is not None and not isinstance(correlations, Mapping):
        raise InputTypeError(f"`correlations` must be a mapping {{(a, b): rho}}; got "
                             f"{type(correlations).__name__}")
    corr = np.eye(len(names))
    given: dict[frozenset, float] = {}
    for pair, rho in (correlations or {}).items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ParameterError(f"correlations keys must be pairs (a, b) of parameter names; "
                                 f"got {pair!r}")
        a, b = pair
        for name in (a, b):
            if name not in variability:
                raise ParameterError(f"correlations name {name!r}, which has no variability; "
                                     f"varied parameters are {names}")
            if variability[name] == 0:
                raise ParameterError(f"correlations name {name!r}, whose variability is 0 (it "
                                     "does not vary); drop the pair or give it an omega > 0")
        if a == b:
            raise ParameterError(f"correlation {pair!r} pairs a parameter with itself")
        if not (is_real(rho) and -1 < rho < 1):
            raise ParameterError(f"correlation {pair!r} must be a number in (-1, 1); got {rho!r}")
        i, j = names.index(a), names.index(b)
        first = given.setdefault(frozenset(pair), rho)
        if first != rho:
            raise ParameterError(f"correlations give the pair ({a!r}, {b!r}) twice, as "
                                 f"{first:g} and {rho:g}; give it once")
        corr[i, j] = corr[j, i] = rho
    if np.any(np.linalg.eigvalsh(corr) <= 0):
        raise ParameterError("correlations do not form a positive-definite matrix")
    rng = as_generator(seed)
    # omega = 0 fixes a parameter at its typical value: only the others are drawn
    varied = np.flatnonzero(omegas > 0)
    eta = np.zeros((n, len(names)))
    if varied.size:
        cov = (corr * np.outer(omegas, omegas))[np.ix_(varied, varied)]
        try:
            eta[:, varied] = rng.multivariate_normal(np.zeros(varied.size), cov, size=n,
                                                     method="cholesky")
        except np.linalg.LinAlgError:
            raise ParameterError(f"the covariance of the random effects (omegas "
                                 f"{omegas[varied].tolist()}) is not positive definite in "
                                 "floating point; use larger omegas or weaker correlations"
                                 ) from None
    out: dict[str, np.ndarray] = {"subject": np.arange(n)}
    with np.errstate(over="ignore"):  # an overflow is refused below, by name
        for j, name in enumerate(names):
            p = params[name]
            if p.lower == 0.0 and p.upper == 1.0 and 0 < p.value < 1:
                logit = np.log(p.value / (1 - p.value)) + eta[:, j]
                out[name] = 1.0 / (1.0 + np.exp(-logit))
            else:
                out[name] = p.value * np.exp(eta[:, j])
    if body_weight is None and allometry:
        raise ParameterError("`allometry` scales parameters with body weights drawn by "
                             "`body_weight`, and none is given; give body_weight={'median': "
                             "kg, 'cv': fraction} or drop `allometry`")
    if body_weight is not None:
        if not isinstance(body_weight, Mapping) or "median" not in body_weight \
                or set(body_weight) - {"median", "cv"}:
            raise ParameterError("body_weight must be a mapping {'median': kg, 'cv': fraction}; "
                                 f"got {body_weight!r}")
        if "body_weight" in variability:
            raise ParameterError("body_weight is drawn by `body_weight` {'median', 'cv'}, and "
                                 "`variability` names it too (that draw would be replaced); "
                                 "give its spread as body_weight['cv'] only")
        median, cv = body_weight["median"], body_weight.get("cv", 0.0)
        if not (is_real(median) and np.isfinite(median) and median > 0):
            raise ParameterError(f"body_weight['median'] must be a number > 0 kg; got {median!r}")
        if not (is_real(cv) and np.isfinite(cv) and cv >= 0):
            raise ParameterError(f"body_weight['cv'] must be a number >= 0; got {cv!r}")
        if allometry is None:  # the defaults that apply to this set's (and model's) parameters
            used = params if model is None else set(model.parameter_names)
            allometry = {k: v for k, v in ALLOMETRY.items() if k in params and k in used}
        if not isinstance(allometry, Mapping):
            raise InputTypeError(f"`allometry` must be a mapping {{parameter: exponent}}; got "
                                 f"{type(allometry).__name__}")
        for name, exponent in allometry.items():
            if name == "body_weight":
                raise ParameterError("allometry names 'body_weight', the weight every other "
                                     "entry scales with; it is drawn by `body_weight` "
                                     "{'median', 'cv'}, so drop it from `allometry`")
            if name not in params:
                raise unknown_name_error(name, params)
            if not (is_real(exponent) and np.isfinite(exponent)):
                raise ParameterError(f"allometry[{name!r}] must be a finite exponent; got "
                                     f"{exponent!r}")
        median, cv = float(median), float(cv)
        omega_wt = np.sqrt(np.log1p(cv * cv))
        wt = median * np.exp(omega_wt * rng.standard_normal(n))
        out["body_weight"] = wt
        with np.errstate(over="ignore"):  # an overflow is refused below, by name
            for name, exponent in allometry.items():
                base = out.get(name, np.full(n, params.value(name)))
                out[name] = base * (wt / params.value("body_weight")) ** exponent
    frame = pd.DataFrame(out)
    for name in frame.columns.drop("subject"):
        p = params[name]
        # a draw that overflowed, or underflowed to 0 from a typical value that is not
        bad = (frame[name] < p.lower) | (frame[name] > p.upper) | ~np.isfinite(frame[name]) \
            | ((frame[name] == 0) & (p.value != 0))
        if bad.any():
            raise ParameterError(f"virtual_population: {int(bad.sum())} samples of {name!r} are "
                                 f"not finite, 0 (from a typical value of {p.value:g}) or "
                                 f"outside its hard bounds [{p.lower:g}, {p.upper:g}] {p.unit}; "
                                 "reduce its variability")
    return frame

