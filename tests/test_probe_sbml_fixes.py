"""Bad input to the SBML/Antimony import that failed deep inside a library (or
aborted Python) instead of a clear error, found by a read-only probe
(2026-12-01, thirteenth session); each test failed before its fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

import il21pk as ip
from il21pk.codegen.build import module_name
from il21pk.io.sbml_errors import SbmlError

DECAY = """
model decay
  compartment C = 1
  species S1 in C = 2
  k = 0.1
  J1: S1 -> ; k*S1
end
"""


def test_antimony_text_that_is_not_text_is_refused():
    """from_antimony(None) aborted the interpreter inside antimony (exit 134, not
    catchable); 123 raised ctypes.ArgumentError."""
    code = ("import il21pk as ip\ntry:\n    ip.Model.from_antimony(None)\n"
            "except TypeError as e:\n    print('refused:', e)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-500:]
    assert "refused: Antimony text must be a str; got NoneType None" in run.stdout
    with pytest.raises(TypeError, match="Antimony text must be a str; got int 123"):
        ip.Model.from_antimony(123)


@pytest.mark.parametrize("kwargs, match", [
    ({"drugs": ["S1"]}, r"`drugs` must be a mapping of drug name to the id"),
    ({"drugs": "S1"}, r"`drugs` must be a mapping"),
    ({"report": 3}, r"`report` must be None, 'all' or a list of names; got int 3"),
    ({"name": 3}, r"a model's name must be a non-empty str; got int 3"),
    ({"name": " "}, r"a model's name must be a non-empty str"),
])
def test_import_options_of_the_wrong_kind_are_named(kwargs, match):
    """drugs=['S1'] raised 'dictionary update sequence element #0', report=3 'int
    object is not iterable', and name=3 was taken and failed in simulate with
    "'int' object has no attribute 'lower'"."""
    with pytest.raises(TypeError, match=match):
        ip.Model.from_antimony(DECAY, **kwargs)


def test_an_empty_sbml_source_is_named():
    with pytest.raises(SbmlError, match="got an empty string"):
        ip.Model.from_sbml("")


def test_a_model_with_a_long_name_simulates():
    """A BioModels title of 260 characters as the model's name: simulate raised
    OSError 'File name too long' on the generated module's path."""
    model = ip.Model.from_antimony(DECAY, name="a very detailed model " * 12)
    assert len(module_name(model.definition)) < 100
    result = ip.simulate(model, None, t_end=10, t_eval=[0.0, 10.0])
    assert result.wide().iloc[-1, 1] == pytest.approx(2 * 2.718281828459045 ** -1, rel=1e-5)
