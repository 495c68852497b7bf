"""Standard stiff test problems written as il21pk stages (for test_stiff_problems.py).

Each problem is one :class:`il21pk.Stage` whose constants are declared
parameters (:class:`il21pk.ParameterSpec`) with values from the problem's
definition, composed into a model with :meth:`il21pk.Model.compose`. The
problems, their initial values, end times and reference solutions are those
of the Test Set for IVP Solvers (F. Mazzia, C. Magherini et al., University
of Bari, https://archimede.uniba.it/~testset/, formerly
http://www.dm.uniba.it/~testset/; release 2.4, Fortran problem files
revision of 2006), which in turn collects problems of Hairer & Wanner,
*Solving Ordinary Differential Equations II* (2nd ed., Springer 1996).

The independent variable is each problem's own time (the engine calls it
hours; nothing here depends on the unit). No problem has a dose: they are
simulated with ``il21pk.Regimen.none()``.

The reference values are the ``solut``/``hiressol`` subroutines of the test
set's Fortran files, read from these public copies of them:

* ``rober.f``, ``orego.f``, ``vdpolm.f``: repository
  ``liuqx315/Multiscale-pattern``, ``sundials_extensions/regression/`` (test
  set files, revisions ``rober.F 1.2``, ``orego.F 1.4``, ``vdpolm.F 1.2``,
  with added split right-hand sides; ``solut`` untouched);
* ``hires.f``, ``vdpol.f``, ``pollu.f``: repository ``volpatto/pside``,
  ``problems/HIRES/hires.f``, ``problems/VdPol/vdpol.f``,
  ``problems/Pollution/pollu.f`` (test set files, revisions 1.2).

They were computed by the test set authors with RADAU5 in quadruple-like
precision (uround 1.01e-19, rtol = atol = h0 = 1.1e-18), so they are exact
to the 1e-6 ... 1e-12 errors checked here. None is computed with il21pk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

import il21pk as ip
from il21pk.parameters import ParameterSpec

TESTSET = "Test Set for IVP Solvers (Mazzia & Magherini, Bari)"


@dataclass(frozen=True)
class Problem:
    """A stiff test problem: its model, parameter values, end time and reference."""

    name: str
    model: ip.Model
    params: ip.ParameterSet
    t_end: float
    reference: np.ndarray  # at t_end, in state order
    source: str


def _problem(name: str, description: str, states: list[tuple[str, float]],
             constants: dict[str, float], rates, t_end: float, reference: list[float],
             source: str, kinetics: bool = True) -> Problem:
    """One stage with `states` [(name, initial)], parameters `constants`, and
    rates ``rates(y, k) -> list of expressions`` (y, k: dicts of symbols).
    `kinetics`: the states are concentrations, declared non-negative."""
    y = {n: sp.Symbol(n) for n, _ in states}
    k = {n: sp.Symbol(n) for n in constants}
    expressions = rates(y, k)
    stage = ip.Stage(
        name=name,
        description=description,
        states=tuple(ip.State(n, "1", f"component {n} of {name}", initial=y0,
                              nonnegative=kinetics) for n, y0 in states),
        # bounds: the constants are positive rate coefficients; any positive value is allowed
        parameters=tuple(ParameterSpec(n, "1", 0.0, 1e15, f"rate constant {n} of {name}")
                         for n in constants),
        rates=dict(zip(y, expressions, strict=True)),
    )
    model = ip.Model.compose(stage, name=name)
    params = model.parameter_set({n: (v, f"{TESTSET}: {name}") for n, v in constants.items()},
                                 base=None)
    return Problem(name, model, params, t_end, np.array(reference, dtype=float), source)


def robertson() -> Problem:
    """ROBER: Robertson's chemical reaction (test set problem 'rober').

    y1' = -k1 y1 + k3 y2 y3,  y2' = k1 y1 - k3 y2 y3 - k2 y2^2,  y3' = k2 y2^2,
    k1 = 0.04, k2 = 3e7, k3 = 1e4, y(0) = (1, 0, 0), t in [0, 1e11].
    """
    return _problem(
        "rober", "Robertson's autocatalytic reaction (HW II, sec. IV.1; test set ROBER).",
        [("y1", 1.0), ("y2", 0.0), ("y3", 0.0)],
        {"k1": 0.04, "k2": 3e7, "k3": 1e4},
        lambda y, k: [-k["k1"] * y["y1"] + k["k3"] * y["y2"] * y["y3"],
                      k["k1"] * y["y1"] - k["k3"] * y["y2"] * y["y3"]
                      - k["k2"] * y["y2"] ** 2,
                      k["k2"] * y["y2"] ** 2],
        t_end=1e11,
        reference=[0.2083340149701255e-07, 0.8333360770334713e-13, 0.9999999791665050e+00],
        source="liuqx315/Multiscale-pattern sundials_extensions/regression/rober.f, solut",
    )


def hires() -> Problem:
    """HIRES: high irradiance response of plant morphogenesis (test set 'hires').

    The 8 equations of hires.f with its named constants k1..k9, oks; y(0) =
    (1, 0, 0, 0, 0, 0, 0, 0.0057), t in [0, 321.8122].
    """
    def rates(y, k):
        y1, y2, y3, y4, y5, y6, y7, y8 = (y[f"y{i}"] for i in range(1, 9))
        k1, k2, k3, k4, k5, k6, k7, k8, k9, oks = (
            k[n] for n in ("k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "oks"))
        bound = k7 * y6 * y8
        return [-k1 * y1 + k2 * y2 + k6 * y3 + oks,
                k1 * y1 - (k2 + k3) * y2,
                -(k6 + k1) * y3 + k2 * y4 + k5 * y5,
                k3 * y2 + k1 * y3 - (k4 + k2) * y4,
                -(k5 + k1) * y5 + k2 * (y6 + y7),
                -bound + k8 * y4 + k1 * y5 - k2 * y6 + k8 * y7,
                bound - (k2 + k8 + k9) * y7,
                -bound + (k2 + k8 + k9) * y7]

    return _problem(
        "hires", "High Irradiance RESponse (Schaefer 1975; HW II sec. IV.10; test set HIRES).",
        [("y1", 1.0), ("y2", 0.0), ("y3", 0.0), ("y4", 0.0), ("y5", 0.0), ("y6", 0.0),
         ("y7", 0.0), ("y8", 0.0057)],
        {"k1": 1.71, "k2": 0.43, "k3": 8.32, "k4": 0.69, "k5": 0.035, "k6": 8.32,
         "k7": 280.0, "k8": 0.69, "k9": 0.69, "oks": 0.0007},
        rates,
        t_end=321.8122,
        reference=[0.7371312573325668e-3, 0.1442485726316185e-3, 0.5888729740967575e-4,
                   0.1175651343283149e-2, 0.2386356198831331e-2, 0.6238968252742796e-2,
                   0.2849998395185769e-2, 0.2850001604814231e-2],
        source="volpatto/pside problems/HIRES/hires.f, solut",
    )


def van_der_pol() -> Problem:
    """VDPOL: Van der Pol with mu = 1e3 in the test set's scaled form.

    y1' = y2,  y2' = ((1 - y1^2) y2 - y1) / eps,  eps = 1/mu^2 = 1e-6,
    y(0) = (2, 0), t in [0, 2] (time scaled by 1/mu: about one period).
    """
    return _problem(
        "vdpol", "Van der Pol oscillator, mu = 1e3, scaled time (HW II sec. IV.1; test set "
        "VDPOL).",
        [("y1", 2.0), ("y2", 0.0)],
        {"eps": 1e-6},
        lambda y, k: [y["y2"], ((1 - y["y1"] ** 2) * y["y2"] - y["y1"]) / k["eps"]],
        t_end=2.0,
        reference=[0.1706167732170483e+01, -0.8928097010247975e+00],
        source="volpatto/pside problems/VdPol/vdpol.f, solut",
        kinetics=False,
    )


def van_der_pol_unscaled() -> Problem:
    """VDPOLM: Van der Pol with mu = 1e3, unscaled.

    y1' = y2,  y2' = mu (1 - y1^2) y2 - y1,  mu = 1e3, y(0) = (2, 0),
    t in [0, 2000].
    """
    return _problem(
        "vdpolm", "Van der Pol oscillator, mu = 1e3, unscaled (test set VDPOLM).",
        [("y1", 2.0), ("y2", 0.0)],
        {"mu": 1e3},
        lambda y, k: [y["y2"], k["mu"] * (1 - y["y1"] ** 2) * y["y2"] - y["y1"]],
        t_end=2000.0,
        reference=[0.1706167732170469e+001, -0.8928097010248125e-003],
        source="liuqx315/Multiscale-pattern sundials_extensions/regression/vdpolm.f, solut",
        kinetics=False,
    )


def orego() -> Problem:
    """OREGO: the Oregonator, Field & Noyes' Belousov-Zhabotinskii model.

    y1' = s (y2 + y1 (1 - q y1 - y2)),  y2' = (y3 - (1 + y1) y2) / s,
    y3' = w (y1 - y3);  s = 77.27, q = 8.375e-6, w = 0.161; y(0) = (1, 2, 3),
    t in [0, 360].
    """
    return _problem(
        "orego", "Oregonator (Field & Noyes 1974; HW II sec. IV.1; test set OREGO).",
        [("y1", 1.0), ("y2", 2.0), ("y3", 3.0)],
        {"s": 77.27, "q": 8.375e-6, "w": 0.161},
        lambda y, k: [k["s"] * (y["y2"] + y["y1"] * (1 - k["q"] * y["y1"] - y["y2"])),
                      (y["y3"] - (1 + y["y1"]) * y["y2"]) / k["s"],
                      k["w"] * (y["y1"] - y["y3"])],
        t_end=360.0,
        reference=[0.1000814870318523e+01, 0.1228178521549917e+04, 0.1320554942846706e+03],
        source="liuqx315/Multiscale-pattern sundials_extensions/regression/orego.f, solut",
    )


#: Rate constants k1..k25 of the pollution problem (pollu.f).
POLLUTION_K = (0.35, 26.6, 1.23e4, 8.6e-4, 8.2e-4, 1.5e4, 1.3e-4, 2.4e4, 1.65e4, 9.0e3,
               2.2e-2, 1.2e4, 1.88, 1.63e4, 4.8e6, 3.5e-4, 1.75e-2, 1.0e8, 4.44e11, 1.24e3,
               2.1, 5.78, 4.74e-2, 1.78e3, 3.12)


def pollution() -> Problem:
    """POLLU: the air-pollution model of the Dutch National Institute of Public
    Health (Verwer 1994): 20 species, 25 reactions; t in [0, 60]."""
    def rates(y, k):
        c = [None] + [y[f"y{i}"] for i in range(1, 21)]
        kk = [None] + [k[f"k{i}"] for i in range(1, 26)]
        r = [None,
             kk[1] * c[1], kk[2] * c[2] * c[4], kk[3] * c[5] * c[2], kk[4] * c[7],
             kk[5] * c[7], kk[6] * c[7] * c[6], kk[7] * c[9], kk[8] * c[9] * c[6],
             kk[9] * c[11] * c[2], kk[10] * c[11] * c[1], kk[11] * c[13],
             kk[12] * c[10] * c[2], kk[13] * c[14], kk[14] * c[1] * c[6], kk[15] * c[3],
             kk[16] * c[4], kk[17] * c[4], kk[18] * c[16], kk[19] * c[16],
             kk[20] * c[17] * c[6], kk[21] * c[19], kk[22] * c[19], kk[23] * c[1] * c[4],
             kk[24] * c[19] * c[1], kk[25] * c[20]]
        return [
            -r[1] - r[10] - r[14] - r[23] - r[24] + r[2] + r[3] + r[9] + r[11] + r[12]
            + r[22] + r[25],
            -r[2] - r[3] - r[9] - r[12] + r[1] + r[21],
            -r[15] + r[1] + r[17] + r[19] + r[22],
            -r[2] - r[16] - r[17] - r[23] + r[15],
            -r[3] + r[4] + r[4] + r[6] + r[7] + r[13] + r[20],
            -r[6] - r[8] - r[14] - r[20] + r[3] + r[18] + r[18],
            -r[4] - r[5] - r[6] + r[13],
            r[4] + r[5] + r[6] + r[7],
            -r[7] - r[8],
            -r[12] + r[7] + r[9],
            -r[9] - r[10] + r[8] + r[11],
            r[9],
            -r[11] + r[10],
            -r[13] + r[12],
            r[14],
            -r[18] - r[19] + r[16],
            -r[20],
            r[20],
            -r[21] - r[22] - r[24] + r[23] + r[25],
            -r[25] + r[24],
        ]

    initial = dict.fromkeys(range(1, 21), 0.0) | {2: 0.2, 4: 0.04, 7: 0.1, 8: 0.3, 9: 0.01,
                                                  17: 0.007}
    return _problem(
        "pollu", "Air pollution model (Verwer 1994; test set POLLU).",
        [(f"y{i}", initial[i]) for i in range(1, 21)],
        {f"k{i}": v for i, v in enumerate(POLLUTION_K, start=1)},
        rates,
        t_end=60.0,
        reference=[0.5646255480022769e-01, 0.1342484130422339e+00, 0.4139734331099427e-08,
                   0.5523140207484359e-02, 0.2018977262302196e-06, 0.1464541863493966e-06,
                   0.7784249118997964e-01, 0.3245075353396018e+00, 0.7494013383880406e-02,
                   0.1622293157301561e-07, 0.1135863833257075e-07, 0.2230505975721359e-02,
                   0.2087162882798630e-03, 0.1396921016840158e-04, 0.8964884856898295e-02,
                   0.4352846369330103e-17, 0.6899219696263405e-02, 0.1007803037365946e-03,
                   0.1772146513969984e-05, 0.5682943292316392e-04],
        source="volpatto/pside problems/Pollution/pollu.f, solut",
    )


def final_state(problem: Problem, *, rtol: float, atol: float,
                method: str = "numba-bdf") -> np.ndarray:
    """States of `problem` at its end time, simulated by ``ip.simulate``."""
    result = ip.simulate(problem.model, ip.Regimen.none(), problem.params,
                         t_end=problem.t_end, t_eval=[0.0, problem.t_end], rtol=rtol,
                         atol=atol, method=method)
    frame = result.frame
    at_end = frame[frame["time_h"] == problem.t_end].set_index("variable")["value"]
    return np.array([at_end[name] for name in problem.model.state_names])
