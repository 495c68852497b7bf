"""The shared number tests (il21pk.checks): bools are not numbers, numpy scalars are."""

import numpy as np
import pytest

from il21pk.checks import is_integer, is_real


@pytest.mark.parametrize("value", [1, 2.5, -0.0, np.int64(3), np.float32(0.5), np.float64(np.inf),
                                   np.nan, 10**400])
def test_real_numbers(value):
    assert is_real(value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True), "1", None, 1j, [1.0],
                                   np.array(1.0)])
def test_not_real_numbers(value):
    assert not is_real(value)


@pytest.mark.parametrize("value", [0, -3, np.int64(3), np.uint8(7), 10**400])
def test_integers(value):
    assert is_integer(value)


@pytest.mark.parametrize("value", [True, np.bool_(False), 3.0, np.float64(2), "2", None])
def test_not_integers(value):
    assert not is_integer(value)
