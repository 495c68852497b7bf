"""Wires dosing -> PK -> binding -> signalling -> cells -> IFN; owns the state
vector layout and nothing else.

A :class:`Model` is structure only (which stages, how many compartments, the
culture for the in vitro variant). Parameter values come from a
:class:`~il21pk.ParameterSet` and doses from a :class:`~il21pk.Regimen`.
The right-hand sides below are compiled once (numba, cached on disk) and
work on a *stack* of N parameter sets at once: state vector
``y[m * n_states + i]`` is state ``i`` of member ``m``, so the Jacobian is
block diagonal, which the banded LSODA solver exploits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numba import njit

from .errors import ParameterError
from .parameters import ParameterSpec
from .stages import StateSpec, binding, cells, ifn, pk, signalling

# -- layout: the order of STAGES is the data flow -------------------------------
STAGES = {"pk": pk, "binding": binding, "signalling": signalling, "cells": cells, "ifn": ifn}


def _offsets(attribute: str) -> dict[str, int]:
    out, position = {}, 0
    for name, stage in STAGES.items():
        out[name] = position
        position += len(getattr(stage, attribute))
    return out


_S = _offsets("STATES")
_K = _offsets("KERNEL_PARAMETERS")
S_PK, S_BIND, S_SIG, S_CELL, S_IFN = (
    _S["pk"], _S["binding"], _S["signalling"], _S["cells"], _S["ifn"])
K_PK, K_BIND, K_SIG, K_CELL, K_IFN = (
    _K["pk"], _K["binding"], _K["signalling"], _K["cells"], _K["ifn"])


@njit(cache=True, error_model="numpy", inline="always")
def _member_full(y, dy, k, infusion):
    # stages read and write their blocks of y, dy and k by offset: slices would
    # cost a reference-count update each, on every one of ~10^4 calls per run
    nk_b, nk_m, cd8_b, cd8_m = y[S_CELL], y[S_CELL + 1], y[S_CELL + 2], y[S_CELL + 3]
    nk_b0, nk_m0, cd8_b0, cd8_m0 = k[K_CELL], k[K_CELL + 1], k[K_CELL + 2], k[K_CELL + 3]
    fold = cells.cell_fold_jit(nk_b, nk_m, cd8_b, cd8_m, nk_b0, nk_m0, cd8_b0, cd8_m0)
    v_central = k[K_PK + 2]
    ligand = pk.concentration_jit(y[S_PK + pk.CENTRAL], v_central)
    uptake = binding.rhs(y, dy, S_BIND, k, K_BIND, ligand, fold, v_central)
    pk.rhs(y, dy, S_PK, k, K_PK, infusion, uptake)
    occupancy = binding.occupancy_jit(y[S_BIND], y[S_BIND + 1], y[S_BIND + 2])
    complexes = binding.complexes_per_cell_jit(y[S_BIND + 2], k[K_BIND + 10], fold)
    pstat3 = signalling.rhs(y, dy, S_SIG, k, K_SIG, complexes)
    cells.rhs(y, dy, S_CELL, k, K_CELL, occupancy, pstat3)
    nk0, cd80 = nk_b0 + nk_m0, cd8_b0 + cd8_m0
    nk_fold = (nk_b + nk_m) / nk0 if nk0 > 0 else 0.0
    cd8_fold = (cd8_b + cd8_m) / cd80 if cd80 > 0 else 0.0
    ifn.rhs(y, dy, S_IFN, k, K_IFN, nk_fold, cd8_fold, y[S_CELL + 4] / k[K_CELL + 9])


#: Model structure codes understood by :func:`member_rhs`.
FULL, PK_ONLY = 0, 1


@njit(cache=True, error_model="numpy", inline="always")
def member_rhs(kind, t, y, dy, k, infusion):
    """Write dy/dt of one member: `kind` is FULL or PK_ONLY, `infusion` in nmol/h.

    The model is autonomous: `t` (time since the last event) is not read.
    """
    if kind == FULL:
        _member_full(y, dy, k, infusion)
    else:
        pk.rhs(y, dy, 0, k, 0, infusion, 0.0)


@njit(cache=True, error_model="numpy")
def stacked_rhs(t, y, k, infusion, kind):
    """dy/dt of N members stacked member-major (for the scipy solvers)."""
    dy = np.empty_like(y)
    n = y.shape[0] // k.shape[0]
    for m in range(k.shape[0]):
        a = m * n
        member_rhs(kind, t, y[a:a + n], dy[a:a + n], k[m], infusion[m])
    return dy


@dataclass(frozen=True)
class Variable:
    """A reported variable: name, stage, unit, description."""

    name: str
    stage: str
    unit: str
    description: str


@dataclass(frozen=True)
class Culture:
    """An in vitro experiment: culture volume [mL] and cell numbers."""

    volume_ml: float
    nk_cells: float
    cd8_cells: float

    def __post_init__(self) -> None:
        for name in ("volume_ml", "nk_cells", "cd8_cells"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0 or (name == "volume_ml" and value == 0):
                allowed = "> 0" if name == "volume_ml" else ">= 0"
                raise ParameterError(f"Model.in_vitro {name} must be {allowed}; got {value!r}")
        if self.nk_cells + self.cd8_cells <= 0:
            raise ParameterError("Model.in_vitro needs nk_cells + cd8_cells > 0; got 0")


class Model:
    """The IL-21 model structure: which stages, and how they are wired.

    ``Model()`` is the full chain dose -> PK -> IL-21R/gamma-c binding ->
    pSTAT3 -> NK/CD8 cells -> IFN-gamma. Variants built from the same stage
    code: :meth:`pk_only` (any drug; 1 or 2 compartments) and
    :meth:`in_vitro` (a culture: fixed volume and cells, no PK).

    Examples
    --------
    >>> import il21pk as ip
    >>> ip.Model().kind
    'full'
    >>> ip.Model.pk_only(compartments=1).state_names
    ('il21_depot', 'il21_central', 'il21_peripheral', 'il21_auc')
    """

    def __init__(self, *, kind: str = "full", compartments: int = 2,
                 culture: Culture | None = None) -> None:
        if kind not in ("full", "pk_only", "in_vitro"):
            raise ValueError(f"Model kind must be 'full', 'pk_only' or 'in_vitro'; got {kind!r}")
        if compartments not in (1, 2):
            raise ValueError(f"Model compartments must be 1 or 2; got {compartments!r}")
        self.kind = kind
        self.compartments = compartments if kind != "in_vitro" else 1
        self.culture = culture
        self._stages = ("pk",) if kind == "pk_only" else tuple(STAGES)
        self.code = PK_ONLY if kind == "pk_only" else FULL

    @classmethod
    def pk_only(cls, *, compartments: int = 2) -> Model:
        """PK alone (no receptors): IV bolus/infusion and first-order absorption.

        Works for any drug: set ``mw`` [kDa] and the PK parameters.
        """
        return cls(kind="pk_only", compartments=compartments)

    @classmethod
    def in_vitro(cls, *, volume_ml: float = 0.2, nk_cells: float = 1e5,
                 cd8_cells: float = 2e5) -> Model:
        """A culture well: IL-21 added to `volume_ml` of medium with NK/CD8 cells.

        No PK: the culture volume replaces ``v_central``, there is no renal
        clearance, no margination, and IFN-gamma starts from 0. Give the
        cytokine as an IV dose at t=0 in mass or molar units (``ng``, ``nmol``).
        """
        return cls(kind="in_vitro", culture=Culture(float(volume_ml), float(nk_cells),
                                                    float(cd8_cells)))

    def __repr__(self) -> str:
        extra = f", compartments={self.compartments}" if self.kind == "pk_only" else ""
        if self.culture is not None:
            extra = f", culture={self.culture}"
        return f"Model(kind={self.kind!r}{extra})"

    # -- structure ----------------------------------------------------------
    @property
    def states(self) -> tuple[tuple[str, StateSpec], ...]:
        """(stage, StateSpec) of every ODE state, in state-vector order."""
        return tuple((s, spec) for s in self._stages for spec in STAGES[s].STATES)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the ODE states in state-vector order."""
        return tuple(spec.name for _, spec in self.states)

    @property
    def n_states(self) -> int:
        """Number of ODE states per simulated member."""
        return len(self.states)

    @property
    def parameter_specs(self) -> tuple[ParameterSpec, ...]:
        """Specs of the parameters this model reads."""
        unused: set[str] = set()
        if self.kind == "pk_only" and self.compartments == 1:
            unused = set(pk.ONE_COMPARTMENT_UNUSED)
        if self.kind == "in_vitro":
            unused = {"body_weight", "v_central", "cl", "q", "v_peripheral", "ka", "f_sc",
                      "tlag_sc", "receptor_cells", "nk_blood_0", "cd8_blood_0",
                      "marginated_ratio", "k_return", "emax_margination"}
        return tuple(p for s in self._stages for p in STAGES[s].PARAMETERS
                     if p.name not in unused)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the parameters this model reads."""
        return tuple(p.name for p in self.parameter_specs)

    @property
    def variables(self) -> tuple[Variable, ...]:
        """Everything reported in a simulation frame, in order."""
        out = []
        for stage_name in self._stages:
            stage = STAGES[stage_name]
            for spec in stage.STATES:
                if spec.name == "il21_central":
                    out.append(Variable("il21_plasma", stage_name, "nM",
                                        "free IL-21 concentration in plasma"))
                elif spec.reported:
                    out.append(Variable(spec.name, stage_name, spec.unit, spec.description))
            for spec in getattr(stage, "OUTPUTS", ()):
                out.append(Variable(spec.name, stage_name, spec.unit, spec.description))
        return tuple(out)

    def to_sbml(self, params, regimen, path=None) -> str:
        """SBML Level 3 of this model with `params` and `regimen`.

        See :func:`il21pk.export.to_sbml`.
        """
        from .export import to_sbml

        return to_sbml(self, params, regimen, path)

    # -- numbers --------------------------------------------------------------
    def prepare(self, values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Kernel parameters (N, n_kernel) and baseline states (N, n_states).

        `values` maps each name in :attr:`parameter_names` to an array of N
        values in the parameter's unit.
        """
        v = {name: np.asarray(values[name], dtype=float) for name in self.parameter_names}
        n = np.broadcast(*v.values()).shape[0] if v else 1
        v = {name: np.broadcast_to(a, (n,)) for name, a in v.items()}
        if self.kind == "pk_only":
            kp = pk.kernel_parameters(v, compartments=self.compartments)
            return kp, pk.initial_state(n)
        if self.kind == "in_vitro":
            c = self.culture
            v_central = np.full(n, c.volume_ml * 1e-3)
            per_ul = 1.0 / (c.volume_ml * 1e3)
            v.update(v_central=v_central, cl=np.zeros(n), q=np.zeros(n), ka=np.zeros(n),
                     v_peripheral=np.ones(n), nk_blood_0=np.full(n, c.nk_cells * per_ul),
                     cd8_blood_0=np.full(n, c.cd8_cells * per_ul), marginated_ratio=np.zeros(n),
                     k_return=np.zeros(n), emax_margination=np.zeros(n))
            receptor_cells = np.full(n, c.nk_cells + c.cd8_cells)
        else:
            receptor_cells = v["receptor_cells"]
        kc = cells.kernel_parameters(v)
        kp = pk.kernel_parameters(v, compartments=self.compartments)
        kb = binding.kernel_parameters(v, v["v_central"], receptor_cells)
        ks = signalling.kernel_parameters(v)
        ki = ifn.kernel_parameters(v)
        k = np.column_stack([kp, kb, ks, kc, ki])
        y0 = np.column_stack([pk.initial_state(n), binding.initial_state(kb),
                              signalling.initial_state(n), cells.initial_state(kc),
                              ifn.initial_state(ki, in_culture=self.kind == "in_vitro")])
        return k, y0

    def report(self, states: np.ndarray, k: np.ndarray) -> dict[str, np.ndarray]:
        """Reported variables from integrated states.

        Parameters
        ----------
        states : numpy.ndarray, shape (N, T, n_states)
        k : numpy.ndarray, shape (N, n_kernel)

        Returns
        -------
        dict of str to numpy.ndarray of shape (N, T), in :attr:`variables` order.
        """
        col = {name: states[..., i] for i, name in enumerate(self.state_names)}
        kk = k[:, None, :]  # broadcast over time
        out: dict[str, np.ndarray] = {}
        col["il21_plasma"] = pk.concentration(col["il21_central"], kk[..., K_PK + 2])
        if self.kind != "pk_only":
            kc = kk[..., K_CELL:K_IFN]
            fold = cells.cell_fold(col["nk_blood"], col["nk_marginated"], col["cd8_blood"],
                                   col["cd8_marginated"], kc[..., 0], kc[..., 1],
                                   kc[..., 2], kc[..., 3])
            col["receptor_occupancy"] = binding.occupancy(
                col["il21r_free"], col["il21_il21r"], col["signalling_complex"])
            col["complexes_per_cell"] = binding.complexes_per_cell(
                col["signalling_complex"], kk[..., K_BIND + 10], fold)
            col["nk_total"] = col["nk_blood"] + col["nk_marginated"]
            col["cd8_total"] = col["cd8_blood"] + col["cd8_marginated"]
            with np.errstate(divide="ignore", invalid="ignore"):
                # a culture without NK cells has no ADCC (0, not 0/0)
                col["adcc_index"] = np.where(kc[..., 0] > 0, cells.adcc_index(
                    col["nk_blood"], col["effector_fraction"], kc[..., 0], kc[..., 9]), 0.0)
        for var in self.variables:
            out[var.name] = col[var.name]
        return out
