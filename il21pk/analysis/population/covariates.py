r"""Covariate models: how a subject's covariates move its typical parameter value.

Each effect multiplies the typical value :math:`\theta` of one parameter;
on the transformed scale (log for positive parameters) it adds a term to
the subject's mean :math:`\mu_i`:

- :class:`Power` (body weight, allometry):
  :math:`\theta_i = \theta\,(c_i/c_{ref})^{\beta}`, term :math:`\beta\log(c_i/c_{ref})`;
- :class:`Exponential`: :math:`\theta_i = \theta\,e^{\beta (c_i - c_{ref})}`,
  term :math:`\beta (c_i - c_{ref})`;
- :class:`Linear`: :math:`\theta_i = \theta\,(1 + \beta (c_i - c_{ref}))`,
  term :math:`\log(1 + \beta (c_i - c_{ref}))`;
- :class:`Categorical`: :math:`\theta_i = \theta\,e^{\beta_k}` for a subject
  in level :math:`k` (0 for the reference level).

Power, exponential and categorical effects are linear in :math:`\beta` on the
log scale, so SAEM estimates them in closed form together with the typical
value; the linear model is not, and is estimated numerically.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...checks import is_real
from ...errors import DataError, InputTypeError, ParameterError


def _check_fields(effect: object, numbers: tuple[str, ...]) -> None:
    """The covariate a str, `estimate` a bool and each of `numbers` a finite number:
    InputTypeError or ParameterError naming the field, the value and what is allowed."""
    kind = type(effect).__name__
    if not isinstance(effect.covariate, str):
        raise InputTypeError(f"{kind}.covariate must be a covariate column name (str); got "
                             f"{effect.covariate!r}")
    if not isinstance(effect.estimate, (bool, np.bool_)):
        raise InputTypeError(f"{kind}.estimate must be True or False; got {effect.estimate!r}")
    for name in numbers:
        value = getattr(effect, name)
        if not is_real(value):
            raise InputTypeError(f"{kind}.{name} must be a number; got {value!r} "
                                 f"({type(value).__name__})")
        if not np.isfinite(value):
            raise ParameterError(f"{kind}.{name} must be finite; got {value!r}")


@dataclass(frozen=True)
class Power:
    r"""Power model :math:`\theta_i = \theta (c_i / c_{ref})^{\beta}`.

    Parameters
    ----------
    covariate : str
        Covariate column of the dataset (``"body_weight"``; ``"WT"`` is accepted
        as its NONMEM name).
    reference : float
        Reference value :math:`c_{ref}` (> 0), e.g. 70 kg.
    exponent : float, optional
        :math:`\beta`: the fixed value, or the start when `estimate` is True.
        Default 0.75 (allometric clearance).
    estimate : bool, optional
        Estimate the exponent (default False: fixed).
    """

    covariate: str
    reference: float
    exponent: float = 0.75
    estimate: bool = False

    linear = True

    def __post_init__(self) -> None:
        _check_fields(self, ("reference", "exponent"))
        if not self.reference > 0:
            raise ParameterError(f"Power.reference must be a number > 0; got {self.reference!r}")

    def columns(self, values: np.ndarray) -> np.ndarray:
        """Design columns (N, 1) on the log scale."""
        if np.any(~np.isfinite(values) | (values <= 0)):
            raise DataError(f"covariate {self.covariate!r} must be > 0 for a power model")
        return np.log(values / self.reference)[:, None]

    def starts(self) -> list[float]:
        """Initial coefficient(s)."""
        return [float(self.exponent)]


@dataclass(frozen=True)
class Exponential:
    r"""Exponential model :math:`\theta_i = \theta e^{\beta (c_i - c_{ref})}`.

    Parameters
    ----------
    covariate : str
    reference : float
        Centring value (e.g. the median).
    coefficient : float, optional
        :math:`\beta` (start or fixed value); default 0.
    estimate : bool, optional
        Default True.
    """

    covariate: str
    reference: float = 0.0
    coefficient: float = 0.0
    estimate: bool = True

    linear = True

    def __post_init__(self) -> None:
        _check_fields(self, ("reference", "coefficient"))

    def columns(self, values: np.ndarray) -> np.ndarray:
        """Design columns (N, 1) on the log scale."""
        return (values - self.reference)[:, None]

    def starts(self) -> list[float]:
        """Initial coefficient(s)."""
        return [float(self.coefficient)]


@dataclass(frozen=True)
class Linear:
    r"""Linear model :math:`\theta_i = \theta (1 + \beta (c_i - c_{ref}))`.

    Parameters
    ----------
    covariate : str
    reference : float
        Centring value.
    coefficient : float, optional
        :math:`\beta` (start or fixed value); default 0.
    estimate : bool, optional
        Default True.
    """

    covariate: str
    reference: float = 0.0
    coefficient: float = 0.0
    estimate: bool = True

    linear = False

    def __post_init__(self) -> None:
        _check_fields(self, ("reference", "coefficient"))

    def columns(self, values: np.ndarray) -> np.ndarray:
        """Centred covariate (N, 1); the term is ``log(1 + beta * column)``."""
        return (values - self.reference)[:, None]

    def starts(self) -> list[float]:
        """Initial coefficient(s)."""
        return [float(self.coefficient)]


@dataclass(frozen=True)
class Categorical:
    r"""Categorical model :math:`\theta_i = \theta e^{\beta_k}` for level :math:`k`.

    Parameters
    ----------
    covariate : str
    reference : object, optional
        The reference level (:math:`\beta = 0`); default the most frequent one
        (the smallest of equally frequent ones).
    estimate : bool, optional
        Default True (False fixes every :math:`\beta_k` at 0).
    """

    covariate: str
    reference: object = None
    estimate: bool = True

    linear = True

    def __post_init__(self) -> None:
        _check_fields(self, ())

    def levels(self, values: np.ndarray) -> list:
        """The non-reference levels, sorted."""
        ref = self.reference_level(values)
        return sorted({v for v in values.tolist() if v != ref})

    def reference_level(self, values: np.ndarray):
        """The reference level in these data."""
        if self.reference is not None:
            if self.reference not in set(values.tolist()):
                raise DataError(f"covariate {self.covariate!r} has no level "
                                f"{self.reference!r}; levels: {sorted(set(values.tolist()))}")
            return self.reference
        counts = pd.Series(values).value_counts()
        # the most frequent level; of levels as frequent, the smallest (not the one the
        # first subject has, which would make the fit depend on the rows' order)
        return min(counts.index[counts == counts.max()],
                   key=lambda level: (type(level).__name__, level))

    def columns(self, values: np.ndarray) -> np.ndarray:
        """Indicator columns (N, levels - 1)."""
        levels = self.levels(values)
        return np.column_stack([values == lv for lv in levels]).astype(float) if levels \
            else np.zeros((len(values), 0))

    def starts_for(self, values: np.ndarray) -> list[float]:
        """Initial coefficients (0 per non-reference level)."""
        return [0.0] * len(self.levels(values))


Effect = Power | Exponential | Linear | Categorical


def _clean(level: object) -> str:
    text = str(level)
    if isinstance(level, float) and level.is_integer():
        text = str(int(level))
    return "".join(ch if ch.isalnum() else "_" for ch in text)


@dataclass(frozen=True)
class Term:
    """One covariate effect bound to the data: its design and coefficient names."""

    parameter: str
    effect: Effect
    design: np.ndarray  # (N, q)
    names: tuple[str, ...]
    starts: tuple[float, ...]

    @property
    def estimated(self) -> bool:
        return bool(self.effect.estimate)

    @property
    def linear(self) -> bool:
        return bool(self.effect.linear)

    def value(self, beta: np.ndarray) -> np.ndarray:
        """The term added to the transformed mean, (N,), for coefficients `beta` (q,)."""
        if self.linear:
            return self.design @ beta
        with np.errstate(invalid="ignore", divide="ignore"):
            inner = 1.0 + self.design @ beta
            return np.where(inner > 0, np.log(np.maximum(inner, 1e-300)), -np.inf)


def bind_terms(covariates: dict | None, frame: pd.DataFrame, parameters: Sequence[str]
               ) -> list[Term]:
    """Validate a ``{parameter: effect or [effects]}`` mapping against the data.

    `frame` holds one row per subject (in fitting order) with the covariate
    columns of the dataset.
    """
    terms: list[Term] = []
    for parameter, effects in (covariates or {}).items():
        if parameter not in parameters:
            raise ParameterError(f"covariate model given for {parameter!r}, which is not "
                                 f"estimated; estimated: {list(parameters)}")
        if not isinstance(effects, (list, tuple)):
            effects = [effects]
        for effect in effects:
            if not isinstance(effect, (Power, Exponential, Linear, Categorical)):
                raise InputTypeError("covariate effects must be Power, Exponential, Linear or "
                                     f"Categorical; got {type(effect).__name__}")
            column = effect.covariate
            if column not in frame.columns and column == "WT" and "body_weight" in frame:
                column = "body_weight"
            if column not in frame.columns:
                raise DataError(f"covariate {effect.covariate!r} is not in the dataset; "
                                f"covariates: {[c for c in frame.columns if c != 'subject']}")
            raw = frame[column].to_numpy()
            if pd.isna(raw).any():
                missing = frame.loc[pd.isna(raw), "subject"].tolist()
                raise DataError(f"covariate {effect.covariate!r} is missing for subject(s) "
                                f"{missing}")
            if isinstance(effect, Categorical):
                design = effect.columns(raw)
                names = tuple(f"beta_{parameter}_{column}_{_clean(lv)}"
                              for lv in effect.levels(raw))
                starts = tuple(effect.starts_for(raw))
            else:
                values = raw.astype(float)
                design = effect.columns(values)
                names = (f"beta_{parameter}_{column}",)
                starts = tuple(effect.starts())
            if design.shape[1] == 0:
                warnings.warn(f"covariate {effect.covariate!r} on {parameter!r}: every subject "
                              f"has the level {raw.tolist()[0]!r}, so it has no coefficient to "
                              "estimate and is left out", UserWarning, stacklevel=4)
                continue
            terms.append(Term(parameter, effect, design, names, starts))
    seen: set[str] = set()
    for term in terms:
        for name in term.names:
            if name in seen:
                raise ParameterError(f"covariate coefficient {name!r} is defined twice")
            seen.add(name)
    return terms
