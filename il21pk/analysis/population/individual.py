r"""The individual-parameter model: typical values, covariates, random effects.

For estimated parameter :math:`p` of subject :math:`i`,

.. math::
    \phi_{ip} = h_p(\psi_{ip}) = \mu_{ip} + \eta_{ip}, \qquad
    \mu_{ip} = h_p(\theta_p) + \sum_k g_k(c_i; \beta_k), \qquad
    \eta_i \sim N(0, \Omega),

with :math:`h = \log` (log-normal between-subject variability) or
:math:`h = \mathrm{logit}` for fractions (bounds [0, 1]); :math:`\eta_{ip} = 0`
for parameters without variability. The coefficient vector holds, per
parameter, :math:`h_p(\theta_p)` and then its covariate coefficients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ...errors import InputTypeError, OptionError
from .covariates import Term


def to_phi(psi: np.ndarray, transform: str) -> np.ndarray:
    """Natural scale -> transformed scale."""
    if transform == "logit":
        return np.log(psi / (1.0 - psi))
    return np.log(psi)


def to_psi(phi: np.ndarray, transform: str) -> np.ndarray:
    """Transformed scale -> natural scale."""
    if transform == "logit":
        return 1.0 / (1.0 + np.exp(-phi))
    return np.exp(phi)


@dataclass
class IndividualModel:
    """Maps population coefficients and random effects to individual parameters.

    Attributes
    ----------
    names : tuple of str
        Estimated model parameters (P), in order.
    transforms : tuple of str
        ``"log"`` or ``"logit"`` per parameter.
    iiv : numpy.ndarray of int
        Indices (R) of the parameters with between-subject variability.
    terms : list of Term
        Covariate effects bound to the data.
    n_subjects : int
    omega_mask : numpy.ndarray of bool, shape (R, R)
        Which elements of Omega are estimated (the diagonal always).
    """

    names: tuple[str, ...]
    transforms: tuple[str, ...]
    iiv: np.ndarray
    terms: list[Term]
    n_subjects: int
    omega_mask: np.ndarray
    coef_names: list[str] = field(init=False)
    coef_param: np.ndarray = field(init=False)
    coef_estimated: np.ndarray = field(init=False)
    coef_linear: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        names, param, estimated, linear = [], [], [], []
        self._term_slices: list[tuple[Term, slice]] = []
        for p, name in enumerate(self.names):
            names.append(name)
            param.append(p)
            estimated.append(True)
            linear.append(True)
            for term in self.terms:
                if term.parameter != name:
                    continue
                start = len(names)
                names.extend(term.names)
                param.extend([p] * len(term.names))
                estimated.extend([term.estimated] * len(term.names))
                linear.extend([term.linear] * len(term.names))
                self._term_slices.append((term, slice(start, len(names))))
        self.coef_names = names
        self.coef_param = np.array(param, dtype=int)
        self.coef_estimated = np.array(estimated, dtype=bool)
        self.coef_linear = np.array(linear, dtype=bool)
        self.intercepts = np.array([names.index(n) for n in self.names], dtype=int)
        self.no_iiv = np.array([p for p in range(len(self.names)) if p not in set(self.iiv)],
                               dtype=int)

    # -- sizes ---------------------------------------------------------------------
    @property
    def n_parameters(self) -> int:
        return len(self.names)

    @property
    def n_random(self) -> int:
        return int(self.iiv.size)

    @property
    def iiv_names(self) -> list[str]:
        return [self.names[p] for p in self.iiv]

    # -- coefficients ----------------------------------------------------------------
    def initial_coefficients(self, typical: Sequence[float]) -> np.ndarray:
        """Coefficient vector from typical values (natural scale) and covariate starts."""
        coef = np.zeros(len(self.coef_names))
        for p, value in enumerate(typical):
            coef[self.intercepts[p]] = to_phi(np.asarray(float(value)), self.transforms[p])
        for term, sl in self._term_slices:
            coef[sl] = term.starts
        return coef

    def typical(self, coef: np.ndarray) -> np.ndarray:
        """Typical values (P,) on the natural scale."""
        return np.array([float(to_psi(coef[self.intercepts[p]], t))
                         for p, t in enumerate(self.transforms)])

    def mean(self, coef: np.ndarray) -> np.ndarray:
        """Subject means on the transformed scale, (N, P)."""
        mu = np.repeat(coef[self.intercepts][None, :], self.n_subjects, axis=0)
        for term, sl in self._term_slices:
            mu[:, self.names.index(term.parameter)] += term.value(coef[sl])
        return mu

    def mean_batch(self, coef: np.ndarray) -> np.ndarray:
        """Subject means for C coefficient vectors (C, Q) -> (C, N, P)."""
        return np.stack([self.mean(c) for c in coef])

    def linear_design(self, p: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Design (N, q) and coefficient indices (q,) of parameter `p`'s estimated
        coefficients when all its terms are linear; None otherwise."""
        cols = [np.ones((self.n_subjects, 1))]
        idx = [self.intercepts[p]]
        for term, sl in self._term_slices:
            if term.parameter != self.names[p] or not term.estimated:
                continue
            if not term.linear:
                return None
            cols.append(term.design)
            idx.extend(range(sl.start, sl.stop))
        return np.hstack(cols), np.array(idx, dtype=int)

    def fixed_offset(self, p: int, coef: np.ndarray) -> np.ndarray:
        """The part of parameter `p`'s mean from fixed (not estimated) terms, (N,)."""
        out = np.zeros(self.n_subjects)
        for term, sl in self._term_slices:
            if term.parameter == self.names[p] and not term.estimated:
                out += term.value(coef[sl])
        return out

    def coefficient_indices(self, params: Sequence[int]) -> np.ndarray:
        """Estimated coefficient indices belonging to parameters `params`."""
        keep = np.isin(self.coef_param, list(params)) & self.coef_estimated
        return np.flatnonzero(keep)

    # -- individual parameters ------------------------------------------------------
    def phi(self, mu: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """Transformed individual parameters (..., N, P) from means and etas (..., N, R)."""
        phi = np.array(mu, dtype=float, copy=True)
        phi[..., self.iiv] += eta
        return phi

    def psi(self, phi: np.ndarray) -> dict[str, np.ndarray]:
        """Natural-scale individual parameters by name from phi (..., N, P)."""
        return {name: to_psi(phi[..., p], t)
                for p, (name, t) in enumerate(zip(self.names, self.transforms, strict=True))}

    def dpsi_dphi(self, phi: np.ndarray) -> np.ndarray:
        """Derivative of the natural-scale value with respect to phi, elementwise."""
        out = np.empty_like(phi)
        for p, t in enumerate(self.transforms):
            psi = to_psi(phi[..., p], t)
            out[..., p] = psi * (1.0 - psi) if t == "logit" else psi
        return out

    def omega_structure(self, omega: np.ndarray) -> np.ndarray:
        """Omega with the covariances that are not estimated set to 0."""
        return np.where(self.omega_mask, omega, 0.0)


def omega_mask(names: Sequence[str], covariance) -> np.ndarray:
    """Boolean (R, R) mask of estimated Omega elements.

    `covariance` is ``"diagonal"``, ``"full"`` or a list of blocks, each a
    list of parameter names whose etas are correlated.
    """
    r = len(names)
    if covariance in (None, "diagonal"):
        return np.eye(r, dtype=bool)
    if covariance == "full":
        return np.ones((r, r), dtype=bool)
    if isinstance(covariance, str):
        raise OptionError("`covariance` must be 'diagonal', 'full' or a list of blocks of "
                          f"parameter names; got {covariance!r}")
    blocks_hint = ("`covariance` must be 'diagonal', 'full' or a list of blocks of parameter "
                   "names, e.g. [['cl', 'v_central']]")
    if not isinstance(covariance, (list, tuple)):
        raise InputTypeError(f"{blocks_hint}; got {type(covariance).__name__} {covariance!r}")
    mask = np.eye(r, dtype=bool)
    used: set[str] = set()
    for block in covariance:
        if isinstance(block, str) or not isinstance(block, (list, tuple)):
            raise InputTypeError(f"{blocks_hint} (a list of lists); got the block {block!r} in "
                                 f"{covariance!r}")
        block = list(block)
        if len(set(block)) < len(block):
            raise OptionError(f"covariance block {block} names a parameter twice")
        unknown = [b for b in block if b not in names]
        if unknown:
            raise OptionError(f"covariance block names {unknown}, which have no "
                              f"between-subject variability; those with: {list(names)}")
        if used & set(block):
            raise OptionError(f"covariance blocks overlap on {sorted(used & set(block))}")
        used |= set(block)
        idx = [list(names).index(b) for b in block]
        mask[np.ix_(idx, idx)] = True
    return mask
