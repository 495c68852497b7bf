"""fit_population against an exact maximum likelihood computed here, independently.

The reference: a one-compartment oral model in closed form, 12 simulated
subjects, log-normal random effects on ka, V and CL, proportional error. The
marginal likelihood of each subject is integrated by adaptive Gauss-Hermite
quadrature (tensor grid centred on the conditional mode, scaled by the
Cholesky root of the inverse Hessian there), written below with numpy and
scipy only, and maximised with scipy. Nothing from il21pk is used for it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import il21pk as ip
from il21pk.analysis.population import FoceiSettings, OneCompartmentOral, SaemSettings

TIMES = np.array([0.25, 0.5, 1.0, 2.0, 3.5, 5.0, 7.0, 9.0, 12.0, 24.0])
DOSE = 320.0  # nmol (so concentrations are nM with V in L)
TRUE = {"ka": 1.5, "v_central": 32.0, "cl": 2.8}
OMEGA = {"ka": 0.5, "v_central": 0.2, "cl": 0.3}
SIGMA = 0.12
NAMES = ("ka", "v_central", "cl")
N_SUBJECTS = 12


# -- the reference, independent of the library ---------------------------------------
def conc(ka, v, cl):
    """Bateman function at TIMES for parameter arrays (...,) -> (..., T)."""
    ka, v, cl = (np.asarray(x)[..., None] for x in (ka, v, cl))
    k = cl / v
    return DOSE * ka / (v * (ka - k)) * (np.exp(-k * TIMES) - np.exp(-ka * TIMES))


def simulate(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eta = rng.standard_normal((N_SUBJECTS, 3)) * np.array([OMEGA[n] for n in NAMES])
    ka, v, cl = (TRUE[n] * np.exp(eta[:, j]) for j, n in enumerate(NAMES))
    f = conc(ka, v, cl)
    return f * (1.0 + SIGMA * rng.standard_normal(f.shape))


def neg_log_joint(eta, y, theta, omega_sd, sigma):
    """-log[p(y|eta) N(eta; 0, Omega)] per subject; eta (..., N, 3), y (N, T)."""
    ka, v, cl = (theta[j] * np.exp(eta[..., j]) for j in range(3))
    f = conc(ka, v, cl)
    sd = sigma * f
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = -0.5 * np.sum(np.log(2 * np.pi * sd**2) + ((y - f) / sd) ** 2, axis=-1)
    lp = -0.5 * np.sum((eta / omega_sd) ** 2 + np.log(2 * np.pi * omega_sd**2), axis=-1)
    out = -(ll + lp)
    return np.where(np.isfinite(out), out, np.inf)


def modes_and_hessians(y, theta, omega_sd, sigma, h=1e-4, eta0=None):
    """Conditional modes (N, 3) by Newton with finite-difference derivatives, and Hessians."""
    n = y.shape[0]
    eta = np.zeros((n, 3)) if eta0 is None else eta0.copy()
    eye = np.eye(3)

    def derivatives(e):
        pts = [e]
        for i in range(3):
            pts += [e + h * eye[i], e - h * eye[i]]
        for i in range(3):
            for j in range(i + 1, 3):
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    pts.append(e + h * (si * eye[i] + sj * eye[j]))
        g = neg_log_joint(np.stack(pts), y, theta, omega_sd, sigma)  # (K, N)
        grad = np.stack([(g[1 + 2 * i] - g[2 + 2 * i]) / (2 * h) for i in range(3)], -1)
        hess = np.empty((n, 3, 3))
        for i in range(3):
            hess[:, i, i] = (g[1 + 2 * i] - 2 * g[0] + g[2 + 2 * i]) / h**2
        k = 7
        for i in range(3):
            for j in range(i + 1, 3):
                pp, pm, mp, mm = g[k:k + 4]
                hess[:, i, j] = hess[:, j, i] = (pp - pm - mp + mm) / (4 * h * h)
                k += 4
        return g[0], grad, hess

    for _ in range(100):
        g0, grad, hess = derivatives(eta)
        # Newton on |eigenvalues| (a descent direction where the Hessian is indefinite)
        lam, vec = np.linalg.eigh(hess)
        lam = np.maximum(np.abs(lam), 1e-3)
        step = -np.einsum("nij,nj->ni", vec / lam[:, None, :],
                          np.einsum("nji,nj->ni", vec, grad))
        alpha = np.ones(n)
        for _ in range(30):
            trial = eta + alpha[:, None] * step
            better = neg_log_joint(trial, y, theta, omega_sd, sigma) <= g0 + 1e-12
            if better.all():
                break
            alpha = np.where(better, alpha, alpha / 2)
        eta = eta + alpha[:, None] * step
        if np.max(np.abs(alpha[:, None] * step)) < 1e-9:
            break
    _, _, hess = derivatives(eta)
    return eta, hess


def agq_m2ll(theta, omega_sd, sigma, y, nodes=13, warm=None):
    """Exact -2 log L (adaptive Gauss-Hermite quadrature, nodes^3 points per subject).

    `warm`, a dict, carries the modes from one call to the next as Newton starts.
    """
    z1, w1 = np.polynomial.hermite.hermgauss(nodes)
    grid = np.stack(np.meshgrid(z1, z1, z1, indexing="ij"), -1).reshape(-1, 3)
    weights = np.prod(np.stack(np.meshgrid(w1, w1, w1, indexing="ij"), -1).reshape(-1, 3), -1)
    eta_hat, hess = modes_and_hessians(y, theta, omega_sd, sigma,
                                       eta0=None if warm is None else warm.get("eta"))
    if warm is not None:
        warm["eta"] = eta_hat
    chol = np.linalg.cholesky(np.linalg.inv(hess))  # (N, 3, 3)
    points = eta_hat[None] + np.sqrt(2) * np.einsum("nij,kj->kni", chol, grid)
    g = neg_log_joint(points, y, theta, omega_sd, sigma)  # (K, N)
    log_terms = np.log(weights)[:, None] + np.sum(grid**2, -1)[:, None] - g
    top = log_terms.max(axis=0)
    log_int = top + np.log(np.exp(log_terms - top).sum(axis=0))
    log_int += 1.5 * np.log(2) + np.log(np.abs(np.linalg.det(chol)))
    return -2.0 * float(np.sum(log_int))


def exact_mle(y):
    """Maximum likelihood of (theta, omega SDs, sigma) by AGQ, from the truth."""
    def unpack(x):
        return np.exp(x[:3]), np.exp(x[3:6]), float(np.exp(x[6]))

    warm: dict = {}

    def objective(x):
        value = agq_m2ll(*unpack(x), y, warm=warm)
        return value if np.isfinite(value) else 1e10

    x0 = np.log([TRUE[n] for n in NAMES] + [OMEGA[n] for n in NAMES] + [SIGMA])
    res = optimize.minimize(objective, x0, method="BFGS", options={"gtol": 1e-5, "eps": 1e-6})
    theta, omega_sd, sigma = unpack(res.x)
    return theta, omega_sd, sigma, agq_m2ll(theta, omega_sd, sigma, y)


def focei_reference(theta, omega_sd, sigma, y, h=1e-6):
    """The FOCEi objective computed here: modes, expected information with interaction."""
    eta_hat, _ = modes_and_hessians(y, theta, omega_sd, sigma)
    n = y.shape[0]
    f0 = conc(*(theta[j] * np.exp(eta_hat[:, j]) for j in range(3)))
    jac = np.empty((n, TIMES.size, 3))
    for j in range(3):
        e = eta_hat.copy()
        e[:, j] += h
        e2 = eta_hat.copy()
        e2[:, j] -= h
        up = conc(*(theta[k] * np.exp(e[:, k]) for k in range(3)))
        down = conc(*(theta[k] * np.exp(e2[:, k]) for k in range(3)))
        jac[:, :, j] = (up - down) / (2 * h)
    s = sigma * f0
    jls = jac / f0[..., None]  # d log s / d eta for proportional error
    info = np.einsum("nti,ntj->nij", jac / s[..., None] ** 2, jac) \
        + 2 * np.einsum("nti,ntj->nij", jls, jls)
    omega_inv = np.diag(1 / omega_sd**2)
    m2ll_cond = np.sum(np.log(2 * np.pi * s**2) + ((y - f0) / s) ** 2, axis=1)
    quad = np.sum(eta_hat**2 / omega_sd**2, axis=1)
    logdet = np.log(np.prod(omega_sd**2)) + np.linalg.slogdet(info + omega_inv)[1]
    return float(np.sum(m2ll_cond + quad + logdet))


# -- the same data for the library ---------------------------------------------------------
def dataset(y: np.ndarray) -> ip.Dataset:
    rows = [{"id": i + 1, "t": t, "conc": v} for i in range(y.shape[0])
            for t, v in zip(TIMES, y[i], strict=True)]
    regimen = ip.Regimen.single(ip.Dose(DOSE, unit="nmol", route="sc"))
    return ip.Dataset.from_frame(pd.DataFrame(rows), time="t", value="conc",
                                 variable="il21_plasma", subject="id", regimen=regimen,
                                 model=ip.Model.pk_only(compartments=1))


START = ip.parameter_sets.load("human").with_values(
    mw=1.0, f_sc=1.0, tlag_sc=0.0, ka=1.0, v_central=25.0, cl=2.0)
IIV0 = {"ka": 0.3, "v_central": 0.3, "cl": 0.3}


@pytest.fixture(scope="module")
def reference():
    y = simulate(2024)
    theta, omega_sd, sigma, m2ll = exact_mle(y)
    return {"y": y, "theta": theta, "omega": omega_sd, "sigma": sigma, "m2ll": m2ll,
            "data": dataset(y)}


def test_quadrature_is_converged(reference):
    r = reference
    a = agq_m2ll(r["theta"], r["omega"], r["sigma"], r["y"])
    b = agq_m2ll(r["theta"], r["omega"], r["sigma"], r["y"], nodes=17)
    assert abs(a - b) < 1e-3


def _estimates(result):
    t = result.table.set_index("name")
    theta = np.array([t.loc[n, "estimate"] for n in NAMES])
    omega = np.array([t.loc[f"omega_{n}", "estimate"] for n in NAMES])
    return theta, omega, float(t.loc["sigma_prop_il21_plasma", "estimate"])


def _check_against_exact(reference, theta, omega, sigma, tol=(0.02, 0.10, 0.05)):
    np.testing.assert_array_less(np.abs(theta / reference["theta"] - 1), tol[0])
    np.testing.assert_array_less(np.abs(omega / reference["omega"] - 1), tol[1])
    assert abs(sigma / reference["sigma"] - 1) < tol[2]


def _gradient_and_hessian(f, x, h=1e-3):
    """Central differences of a scalar function of a vector."""
    k = x.size
    e = np.eye(k) * h
    f0 = f(x)
    g = np.array([(f(x + e[i]) - f(x - e[i])) / (2 * h) for i in range(k)])
    hess = np.empty((k, k))
    for i in range(k):
        hess[i, i] = (f(x + e[i]) - 2 * f0 + f(x - e[i])) / h**2
        for j in range(i + 1, k):
            hess[i, j] = hess[j, i] = (f(x + e[i] + e[j]) - f(x + e[i] - e[j])
                                       - f(x - e[i] + e[j]) + f(x - e[i] - e[j])) / (4 * h * h)
    return g, hess


@pytest.fixture(scope="module")
def fits(reference):
    return {method: ip.fit_population(OneCompartmentOral(), reference["data"], START,
                                      free=list(NAMES), iiv=IIV0, method=method, seed=7)
            for method in ("saem", "focei")}


@pytest.fixture(scope="module")
def exact_standard_errors(reference):
    """SEs of log(theta) from the observed information of the exact (quadrature)
    likelihood at its maximum: the inverse of half the Hessian of -2 log L."""
    y = reference["y"]
    x = np.log(np.r_[reference["theta"], reference["omega"], reference["sigma"]])
    _, hess = _gradient_and_hessian(
        lambda v: agq_m2ll(np.exp(v[:3]), np.exp(v[3:6]), float(np.exp(v[6])), y), x)
    return np.sqrt(np.diag(np.linalg.inv(hess / 2)))[:3]


def test_saem_matches_exact_maximum_likelihood(reference, fits):
    res = fits["saem"]
    theta, omega, sigma = _estimates(res)
    # measured 2026-11-30: within 0.44 % of the exact maximum on every parameter; an
    # Omega update dividing by n - 1 instead of n is 5-6 % off
    _check_against_exact(reference, theta, omega, sigma, tol=(0.01, 0.015, 0.01))
    # -2 log L by importance sampling vs the exact maximum
    assert abs(res.m2ll - reference["m2ll"]) < 0.5, (res.m2ll, reference["m2ll"])
    assert res.m2ll_se < 0.2
    # and vs the exact value at SAEM's own estimates (the importance sampling itself)
    exact_here = agq_m2ll(theta, omega, sigma, reference["y"])
    assert abs(res.m2ll - exact_here) < 4 * res.m2ll_se + 0.02
    assert res.objective == res.m2ll


def test_focei_matches_exact_and_its_objective_is_the_laplace_approximation(reference, fits):
    res = fits["focei"]
    theta, omega, sigma = _estimates(res)
    # FOCEi approximates the likelihood: near the exact maximum, not at it
    _check_against_exact(reference, theta, omega, sigma)
    # the objective is the FOCEi approximation computed independently here ...
    y = reference["y"]
    ofv = focei_reference(theta, omega, sigma, y)
    assert abs(res.objective - ofv) < 0.02, (res.objective, ofv)
    # ... and the estimates are its minimum: a Newton step on it from there is tiny
    # (measured 2026-11-30: the library's estimates within 7e-5 of its minimiser)
    g, hess = _gradient_and_hessian(
        lambda v: focei_reference(np.exp(v[:3]), np.exp(v[3:6]), float(np.exp(v[6])), y),
        np.log(np.r_[theta, omega, sigma]))
    step = np.linalg.solve(hess, -g)
    assert np.abs(step).max() < 2e-3, step
    # m2ll is the exact -2 log L at the estimates, by importance sampling
    exact_here = agq_m2ll(theta, omega, sigma, y)
    assert abs(res.m2ll - exact_here) < 4 * res.m2ll_se + 0.02
    # the sandwich covariance step ran
    assert np.all(np.isfinite(res.table["stderr"])) and np.isfinite(res.condition_number)
    assert res.r_matrix is not None and res.s_matrix is not None


def test_saem_is_seeded(reference):
    kw = dict(free=list(NAMES), iiv=IIV0, seed=3, settings=SaemSettings(k1=60, k2=30,
                                                                         is_draws=200))
    a = ip.fit_population(OneCompartmentOral(), reference["data"], START, **kw)
    b = ip.fit_population(OneCompartmentOral(), reference["data"], START, **kw)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.m2ll == b.m2ll


def test_focei_settings_type_is_checked(reference):
    with pytest.raises(TypeError, match="FoceiSettings"):
        ip.fit_population(OneCompartmentOral(), reference["data"], START, free=list(NAMES),
                          iiv=IIV0, method="focei", settings=SaemSettings())
    assert FoceiSettings().covariance


@pytest.mark.parametrize("method", ["saem", "focei"])
def test_standard_errors_match_the_exact_information(fits, exact_standard_errors, method):
    """SE / estimate of each typical value (the SE of its log) against the observed
    information of the exact likelihood: measured 2026-11-30 within 1 % (SAEM
    1.001-1.004, FOCEi 0.992-1.003); SEs three times too large or too small fail."""
    t = fits[method].table.set_index("name")
    library = np.array([t.loc[n, "stderr"] / t.loc[n, "estimate"] for n in NAMES])
    np.testing.assert_allclose(library / exact_standard_errors, 1.0, atol=0.05)
