"""Reference outputs of the release before the model-core rewrite (commit fe5d22b).

Run once, on that commit: ``python tests/data/make_core_reference.py``. It
writes ``core_reference.npz``: for each built-in model (full chain, PK-only
with 1 and 2 compartments, in vitro), 50 parameter sets drawn inside the hard
bounds (log-uniform within 1/3-3x of the human value, clipped to the bounds;
uniform 0-1 for values that are 0) x 3 regimens, every reported variable on a
fixed grid, integrated at rtol 1e-10 / atol 1e-14 so that the comparison
tests the equations, not the step sequence. ``tests/test_core_reference.py``
asserts that the current code reproduces every variable to 1e-6 of its range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import il21pk as ip

N_SETS = 50
SEED = 20261129
T_END = 28 * 24.0
GRID = np.union1d([0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0], np.arange(0.0, T_END + 1, 12.0))
VITRO_END = 72.0
VITRO_GRID = np.union1d([0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0], np.arange(0.0, VITRO_END + 1, 6.0))
RTOL, ATOL = 1e-10, 1e-14


def models() -> dict[str, ip.Model]:
    """Model v1's variants (the default models of the release this script ran on)."""
    v1 = hasattr(ip.Model, "v1")  # after the release, v1 is no longer the default
    return {"full": ip.Model.v1() if v1 else ip.Model(),
            "pk1": ip.Model.pk_only(compartments=1), "pk2": ip.Model.pk_only(compartments=2),
            "in_vitro": ip.Model.in_vitro_v1() if v1 else ip.Model.in_vitro()}


def regimens(name: str) -> dict[str, ip.Regimen]:
    if name == "in_vitro":
        return {f"{amount:g}ng": ip.Regimen.single(ip.Dose(amount, unit="ng"))
                for amount in (0.1, 10.0, 1000.0)}
    return {
        "iv_5on9off": ip.Regimen.five_on_nine_off(ip.Dose(30, unit="ug/kg"), cycles=2),
        "sc_tiw": ip.Regimen.three_times_weekly(ip.Dose(100, unit="ug/kg", route="sc"),
                                                weeks=4),
        "infusion": ip.Regimen.repeat(ip.Dose(10, unit="ug/kg", duration=2.0), every=168,
                                      count=4),
    }


def draws(model: ip.Model, human: ip.ParameterSet, rng: np.random.Generator
          ) -> dict[str, np.ndarray]:
    """N_SETS values of every parameter the model and dosing read."""
    names = sorted(set(model.parameter_names) | {"mw", "body_weight", "f_sc", "tlag_sc"})
    out = {}
    for name in names:
        p = human[name]
        if p.value == 0:
            value = rng.uniform(0.0, 1.0, N_SETS)
        else:
            value = p.value * np.exp(rng.uniform(np.log(1 / 3), np.log(3), N_SETS))
        out[name] = np.clip(value, p.lower, p.upper)
    return out


def main() -> None:
    from il21pk.simulate import run_batch  # the module path of the release it was run on

    human = ip.parameter_sets.load("human")
    rng = np.random.default_rng(SEED)
    arrays: dict[str, np.ndarray] = {}
    for mname, model in models().items():
        columns = draws(model, human, rng)
        for pname, values in columns.items():
            arrays[f"{mname}/param/{pname}"] = values
        grid = VITRO_GRID if mname == "in_vitro" else GRID
        t_end = VITRO_END if mname == "in_vitro" else T_END
        for rname, regimen in regimens(mname).items():
            batch = run_batch(model, regimen, columns, t_eval=grid, t_end=t_end,
                              rtol=RTOL, atol=ATOL)
            assert batch.success.all(), (mname, rname, batch.message)
            for var, values in batch.outputs.items():
                arrays[f"{mname}/{rname}/{var}"] = values
        arrays[f"{mname}/grid"] = grid
    path = Path(__file__).with_name("core_reference.npz")
    np.savez_compressed(path, **arrays)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
