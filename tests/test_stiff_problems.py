"""The generic engine on standard stiff test problems with published reference solutions.

Issue 10, item 5. Each problem of the Test Set for IVP Solvers (Mazzia &
Magherini, University of Bari; https://archimede.uniba.it/~testset/, formerly
http://www.dm.uniba.it/~testset/), most of them from Hairer & Wanner,
*Solving ODEs II*, is written with the public model API (``ip.Stage``,
``ip.State``, ``ip.Model.compose``, ``ParameterSpec`` constants; see
``stiff_problems.py``) and integrated by ``ip.simulate`` with the default
compiled engine (``method="numba-bdf"``) from its initial value to the test
set's end time. Time is each problem's own independent variable (the engine
labels it hours).

Reference solutions at the end time: the test set's ``solut`` routines,
computed by its authors with RADAU5 at rtol = atol = 1.1e-18 (uround
1.01e-19), read from public copies of the test set's Fortran files
(repository ``liuqx315/Multiscale-pattern``, ``sundials_extensions/
regression/{rober,orego,vdpolm}.f``; repository ``volpatto/pside``,
``problems/{HIRES/hires,VdPol/vdpol,Pollution/pollu}.f``):

==========  =========  ===================================================
problem     t_end      reference y(t_end)
==========  =========  ===================================================
ROBER       1e11       2.083340149701255e-08, 8.333360770334713e-14,
                       9.999999791665050e-01
HIRES       321.8122   7.371312573325668e-4, 1.442485726316185e-4,
                       5.888729740967575e-5, 1.175651343283149e-3,
                       2.386356198831331e-3, 6.238968252742796e-3,
                       2.849998395185769e-3, 2.850001604814231e-3
VDPOL       2          1.706167732170483, -8.928097010247975e-1
(mu = 1e3, scaled: y2' = ((1 - y1^2) y2 - y1) / 1e-6)
VDPOLM      2000       1.706167732170469, -8.928097010248125e-4
(mu = 1e3, unscaled: y2' = 1e3 (1 - y1^2) y2 - y1)
OREGO       360        1.000814870318523, 1.228178521549917e3,
                       1.320554942846706e2
POLLU       60         20 values, see ``stiff_problems.pollution``
                       (5.646255480022769e-2, 1.342484130422339e-1, ...,
                       5.682943292316392e-5)
==========  =========  ===================================================

Tolerances. The engine controls the local error per step in the weighted
norm ``|err_i| / (atol + rtol |y_i|)``, with one scalar atol. For each
problem atol = rtol * floor, where `floor` is the magnitude below which a
component is not resolved relatively: ROBER 1e-8 (y1 falls to 2e-8 at t_end;
y2 ~ 1e-13 is in quasi-steady state, y2 = k1 y1 / (k3 y3), so it inherits
y1's relative accuracy), HIRES and POLLU 1e-6 (the slow species are >= 5e-5;
the smaller POLLU species are quasi-steady radicals), OREGO 1e-3 (y2's
minimum on the cycle is 3e-3), VDPOL 1 (both components O(1) on the slow
manifold; deTestSet's ``vdpol`` also uses atol = rtol) and VDPOLM 1e-2 (y2 ~
1e-3 there; see the xfail below for why not smaller).

What is asserted, per problem, on the largest relative error over all
components, ``max_i |y_i - ref_i| / |ref_i|``:

* at rtol = 1e-6 and at rtol = 1e-9 it is <= K * rtol. A local error
  tolerance bounds the global error only up to the problem's error
  amplification (the sum of propagated local errors), so K = 100: the error
  at t_end may exceed the per-step tolerance by two orders of magnitude,
  e.g. <= 1e-4 at rtol = 1e-6. OREGO and VDPOLM have K = 500: OREGO ends on
  the steep flank of a relaxation oscillation after a long span, where phase
  error accumulates (scipy's own BDF gets 7.4e-5 and 2.1e-7 at rtol 1e-6 and
  1e-9, ODEPACK's LSODA 2.8e-5 and 1.9e-7), and in VDPOLM atol = 1e-2 rtol is
  ~10 rtol of y2 (scipy BDF 7.0e-5, 1.0e-7; LSODA 7.6e-5, 1.5e-7);
* the error converges: a variable-order BDF has global error ~
  tol^(q/(q+1)), so over rtol = 1e-5 ... 1e-9 the slope of log error against
  log rtol (least squares over the five) is at least 2/3 (orders q >= 2).
  A fit rather than the ratio of two errors, since one tolerance can land
  luckily: OREGO's error at rtol 1e-6 is 1.7e-5 where its neighbours give
  2.9e-4 and 1.0e-5 (slope 0.75, the smallest margin here; over 1e-6..1e-9
  alone it would be 0.674); with scipy's Newton tolerance it was 5.2e-5
  (slope 0.79), and the 1e-6 / 1e-9 ratio 276 rather than 88;
* scipy's Radau (an independent method: implicit Runge-Kutta, order 5) on
  the same generated model meets the same bound at rtol = 1e-6, and agrees
  with the engine to K * rtol.

Measured (this machine, numba-bdf; rtol 1e-6 / 1e-9, slope): ROBER 5.1e-6 /
2.5e-8, 0.80; HIRES 3.4e-6 / 3.6e-9, 1.00; POLLU 1.4e-6 / 2.1e-9, 0.81; OREGO
1.7e-5 / 1.9e-7, 0.75; VDPOL 2.2e-5 / 2.7e-8, 0.90; VDPOLM 7.0e-5 / 1.1e-7,
0.88. Each run takes 0.01-0.04 s once the model is compiled (compilation is
once per machine, cached).
"""

from __future__ import annotations

import numpy as np
import pytest
import stiff_problems as sp
import sympy

import il21pk as ip
from il21pk.parameters import ParameterSpec

#: problem -> (floor: atol = rtol * floor, K: allowed error = K * rtol)
CASES = {
    "rober": (sp.robertson, 1e-8, 100.0),
    "hires": (sp.hires, 1e-6, 100.0),
    "pollu": (sp.pollution, 1e-6, 100.0),
    "orego": (sp.orego, 1e-3, 500.0),
    "vdpol": (sp.van_der_pol, 1.0, 100.0),
    "vdpolm": (sp.van_der_pol_unscaled, 1e-2, 500.0),
}


@pytest.fixture(scope="module")
def problems() -> dict[str, sp.Problem]:
    return {name: make() for name, (make, _, _) in CASES.items()}


def relative_error(y: np.ndarray, reference: np.ndarray) -> float:
    """Largest relative error over the components."""
    return float(np.max(np.abs(y - reference) / np.abs(reference)))


def error_at(problem: sp.Problem, rtol: float, method: str = "numba-bdf") -> float:
    _, floor, _ = CASES[problem.name]
    y = sp.final_state(problem, rtol=rtol, atol=rtol * floor, method=method)
    return relative_error(y, problem.reference)


@pytest.mark.parametrize("name", list(CASES))
def test_engine_reaches_the_published_reference_and_converges(problems, name):
    problem = problems[name]
    _, _, k = CASES[name]
    rtols = np.array([1e-5, 1e-6, 1e-7, 1e-8, 1e-9])
    errors = np.array([error_at(problem, rtol) for rtol in rtols])
    coarse, fine = errors[1], errors[-1]
    assert coarse <= k * 1e-6, f"{name}: relative error {coarse:.2e} at rtol 1e-6"
    assert fine <= k * 1e-9, f"{name}: relative error {fine:.2e} at rtol 1e-9"
    slope = np.polyfit(np.log10(rtols), np.log10(errors), 1)[0]
    assert slope >= 2.0 / 3.0, f"{name}: error ~ rtol^{slope:.2f} over 1e-5..1e-9: {errors}"


@pytest.mark.parametrize("name", list(CASES))
def test_scipy_radau_cross_check(problems, name):
    problem = problems[name]
    _, floor, k = CASES[name]
    rtol = 1e-6
    radau = sp.final_state(problem, rtol=rtol, atol=rtol * floor, method="Radau")
    engine = sp.final_state(problem, rtol=rtol, atol=rtol * floor)
    assert relative_error(radau, problem.reference) <= k * rtol
    assert relative_error(engine, radau) <= k * rtol


def test_robertson_stays_nonnegative_over_its_whole_span(problems):
    """Negative concentrations are the classic failure on ROBER over long spans
    (HW II sec. IV.10); the mass y1 + y2 + y3 = 1 is conserved by the equations."""
    problem = problems["rober"]
    times = np.concatenate([[0.0], np.logspace(-6, 11, 69)])
    result = ip.simulate(problem.model, ip.Regimen.none(), problem.params, t_end=1e11,
                         t_eval=times, rtol=1e-6, atol=1e-14)
    table = result.frame.pivot(index="time_h", columns="variable", values="value")
    states = table[["y1", "y2", "y3"]].to_numpy()
    assert np.all(states >= -1e-14)
    np.testing.assert_allclose(states.sum(axis=1), 1.0, rtol=0, atol=1e-6)


@pytest.mark.xfail(
    strict=True, raises=ip.SimulationError,
    reason="numba-bdf stops with 'step size became too small' at the end of the first or "
           "second fast jump (t = 0.807091 / 1.61429, x1000 for VDPOLM), where y2 crosses 0 "
           "and its error weight falls to ~atol. The step actually taken, t_new - t rounded "
           "to the spacing of floats at t, differs from the step the difference array was "
           "rescaled for (bdf.integrate_member: `h = t_new - t; h_abs = h` without "
           "_change_d); with |y2'| ~ 2e6 (VDPOL) this puts an error of about "
           "ulp(t) |y2'| / alpha ~ 1e-11 (1e-13 in VDPOLM) into the corrector and the error "
           "estimate whatever h is, so with atol below that no step passes the error test "
           "and h shrinks to 10 ulp(t). Same failure in scipy's BDF (same NDF algorithm); "
           "Radau and LSODA pass. Rescaling d by (t_new - t) / h_abs before the step removes "
           "it (checked on a patched copy of the engine: 5.9e-9 and 3.9e-9 here, the other "
           "problems unchanged), but rescaling only where the rounding exceeds 1e-8 of the "
           "step (else a _change_d on most steps) made a model v1 member of "
           "test_core_reference (rtol 1e-10, atol 1e-14) stop at t = 598 h with 'step size "
           "became too small' after 9,201 Newton failures, so it is not applied. Keeping "
           "the time in two parts instead (t + t_lo by two-sum, so h is exact; tried "
           "2026-11-30) passes both (5.9e-9, 3.9e-9) with the other problems' errors "
           "unchanged but for OREGO at rtol 1e-5, and stops member 4 of that test at "
           "181.7 h: with hill_pstat3 0.34 the drug and complexes sit at ~1e-40, far below "
           "atol, and signal**0.34 lifts their noise to ~1e-14 in the pSTAT3 transit "
           "states, at atol; the current code gets through it by luck (1,265 Newton "
           "failures in its first 181 h, 1,782 by 200 h).")
@pytest.mark.parametrize("name", ["vdpol", "vdpolm"])
def test_van_der_pol_with_tight_absolute_tolerance(problems, name):
    """rtol 1e-9 with atol 1e-15 (floor 1e-6, as for HIRES): should converge too."""
    problem = problems[name]
    _, _, k = CASES[name]
    y = sp.final_state(problem, rtol=1e-9, atol=1e-15)
    assert relative_error(y, problem.reference) <= k * 1e-9


def test_robertson_with_loose_absolute_tolerance_stays_nonnegative(problems):
    """With atol = rtol = 1e-6 y1 and y2 are below atol for most of the span: they
    need not be accurate, but a solution of kinetics must not turn negative beyond
    atol (the exact one is positive) and blow up."""
    problem = problems["rober"]
    times = np.concatenate([[0.0], np.logspace(-6, 11, 69)])
    result = ip.simulate(problem.model, ip.Regimen.none(), problem.params, t_end=1e11,
                         t_eval=times, rtol=1e-6, atol=1e-6)
    table = result.frame.pivot(index="time_h", columns="variable", values="value")
    states = table[["y1", "y2", "y3"]].to_numpy()
    assert np.all(states >= -1e-6)
    # a state held at 0 moves along 0: no drift of the mass beyond atol
    assert np.abs(states.sum(axis=1) - 1.0).max() <= 1e-6


def test_a_zero_order_loss_of_a_non_negative_state_is_named_not_stalled_on():
    """A non-negative state with a zero-order loss (x -> y at rate k, whatever x)
    has a rate below 0 when it is 0, which State.nonnegative rules out: the
    engine keeps refusing steps that take x below 0, and the error says so and
    names x (not y, whose rate at 0 is +k), instead of "too many steps"."""
    x, y, k = sympy.symbols("x y k")
    stage = ip.Stage(name="store", description="zero-order transfer",
                     states=(ip.State("x", "nmol", "left", initial=1.0, nonnegative=True),
                             ip.State("y", "nmol", "moved", nonnegative=True)),
                     parameters=(ParameterSpec("k", "nmol/h", 0.0, 10.0, "transfer rate"),),
                     rates={"x": -k, "y": k})
    model = ip.Model.compose(stage, name="zero_order_transfer")
    params = model.parameter_set({"k": (1.0, "test")}, base=None)
    with pytest.raises(ip.SimulationError, match=r"non-negative is pushed below 0") as caught:
        ip.simulate(model, ip.Regimen.none(), params, t_end=5.0, max_steps=2_000)
    assert str(caught.value).endswith("rate below 0 at 0: x.")


def _depletion() -> tuple[ip.Model, ip.ParameterSet]:
    """x' = -x / (K_m + x) from x = 1, K_m = 1e-10: Michaelis-Menten depletion."""
    x, km = sympy.Symbol("x"), sympy.Symbol("km")
    stage = ip.Stage(name="substrate", description="Michaelis-Menten depletion",
                     states=(ip.State("x", "nM", "substrate", initial=1.0, nonnegative=True),),
                     parameters=(ParameterSpec("km", "nM", 0.0, 1.0, "Michaelis constant"),),
                     rates={"x": -x / (km + x)})
    model = ip.Model.compose(stage, name="depletion")
    return model, model.parameter_set({"km": (1e-10, "test")}, base=None)


def test_a_model_within_the_rule_that_runs_out_of_steps_is_told_so():
    """Michaelis-Menten depletion has rate 0 at 0, as State.nonnegative asks: with
    too small a max_steps it can run out of steps while the non-negativity test
    refuses some of them near 0, and must then hear "too many steps" and the
    max_steps advice, not that its kinetics push a state below 0."""
    model, params = _depletion()
    for max_steps in (20, 30, 50):
        with pytest.raises(ip.SimulationError, match=r"too many steps .*larger max_steps"):
            ip.simulate(model, ip.Regimen.none(), params, t_end=5.0,
                        t_eval=np.linspace(0.0, 5.0, 51), max_steps=max_steps)


def test_a_depleted_substrate_stays_at_zero_without_stalling():
    """Michaelis-Menten depletion with a tiny K_m: x' = -x / (K_m + x) runs at
    rate 1 until x ~ K_m, then x decays at rate 1e10 /h to 0. Held at 0 with the
    slope that took it there, the predictor would keep going below 0 and the
    steps shrink to atol / rate (200,000 steps)."""
    model, params = _depletion()
    result = ip.simulate(model, ip.Regimen.none(), params, t_end=5.0,
                         t_eval=np.linspace(0.0, 5.0, 51), max_steps=5_000)
    x_values = result.frame.query("variable == 'x'")["value"].to_numpy()
    assert np.all(x_values >= 0.0) and x_values[-1] <= 1e-9
    np.testing.assert_allclose(x_values[:10], 1.0 - np.linspace(0.0, 0.9, 10), atol=1e-6)
