"""Shared fixtures: parameter sets, models and a small PK-only drug."""

from __future__ import annotations

import numpy as np
import pytest

import il21pk as ip


@pytest.fixture(scope="session")
def human() -> ip.ParameterSet:
    return ip.parameter_sets.load("human")


@pytest.fixture(scope="session")
def cyno() -> ip.ParameterSet:
    return ip.parameter_sets.load("cynomolgus")


@pytest.fixture(scope="session")
def model() -> ip.Model:
    return ip.Model.v1()


@pytest.fixture(scope="session")
def drug(human) -> ip.ParameterSet:
    """A PK-only drug with round numbers: V 10 L, CL 2 L/h, ka 0.8 /h, F 0.6, MW 1 kDa."""
    return human.with_values(mw=1.0, v_central=10.0, cl=2.0, q=0.0, ka=0.8, f_sc=0.6,
                             tlag_sc=0.0, source="test drug")


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)


def series(result: ip.SimulationResult, variable: str) -> tuple[np.ndarray, np.ndarray]:
    """(time_h, value) arrays of one variable from a result's tidy frame."""
    rows = result.frame[result.frame["variable"] == variable]
    return rows["time_h"].to_numpy(), rows["value"].to_numpy()
