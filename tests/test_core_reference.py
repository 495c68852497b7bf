"""The model core reproduces the release before its rewrite (commit fe5d22b).

``tests/data/core_reference.npz`` holds that release's outputs (made by
``tests/data/make_core_reference.py`` on that commit): the full chain,
PK-only with 1 and 2 compartments and the in vitro culture, each at 50
parameter sets drawn inside the bounds x 3 regimens, every reported variable
on a fixed grid, at rtol 1e-10. The generated kernels must reproduce every
variable to 1e-6 of its range over the run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data.make_core_reference import ATOL, RTOL, T_END, VITRO_END, models, regimens

from il21pk.analysis.simulate import run_batch

REFERENCE = Path(__file__).parent / "data" / "core_reference.npz"


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return dict(data)


CASES = [(m, r) for m in ("full", "pk1", "pk2", "in_vitro") for r in regimens(m)]


@pytest.mark.parametrize(("model_name", "regimen_name"), CASES)
def test_reproduces_the_release_before_the_rewrite(reference, model_name, regimen_name):
    model = models()[model_name]
    prefix = f"{model_name}/param/"
    columns = {k[len(prefix):]: v for k, v in reference.items() if k.startswith(prefix)}
    grid = reference[f"{model_name}/grid"]
    t_end = VITRO_END if model_name == "in_vitro" else T_END
    batch = run_batch(model, regimens(model_name)[regimen_name], columns, t_eval=grid,
                      t_end=t_end, rtol=RTOL, atol=ATOL)
    assert batch.success.all()
    stored = {k.split("/")[-1]: v for k, v in reference.items()
              if k.startswith(f"{model_name}/{regimen_name}/")}
    assert list(batch.outputs) == list(stored)
    for name, old in stored.items():
        new = batch.outputs[name]
        span = np.ptp(old, axis=1, keepdims=True)
        scale = np.maximum(span, 1e-12 * np.maximum(np.abs(old).max(axis=1, keepdims=True), 1))
        error = np.abs(new - old) / scale
        assert error.max() <= 1e-6, (name, float(error.max()))
