"""Every generated artefact is what the model definition generates today.

The built-in models' compiled modules (``il21pk/codegen/generated/``) and
the model and parameter pages of the docs are regenerated here and compared
with the committed files: editing a stage without running
``python -m il21pk.codegen`` fails this test.
"""

from __future__ import annotations

import pytest

from il21pk.codegen import artefacts, docs
from il21pk.codegen.build import GENERATED

FILES = artefacts.artefacts()


@pytest.mark.parametrize("path", sorted(FILES), ids=lambda p: p.name)
def test_committed_artefact_is_current(path):
    assert path.exists(), f"{path} is missing: run `python -m il21pk.codegen`"
    assert path.read_text(encoding="utf-8") == FILES[path], \
        f"{path.name} is stale: run `python -m il21pk.codegen`"


def test_no_stale_generated_modules():
    on_disk = {p for p in GENERATED.glob("*.py") if p.name != "__init__.py"}
    assert on_disk == {p for p in FILES if p.parent == GENERATED}


def test_model_page_prints_every_stage_from_its_definition():
    text = docs.model_markdown()
    for stage in ("`pk`", "`binding`", "`signalling`", "`cells`", "`ifn`", "## Dosing"):
        assert stage in text
    # one block of rates per stage with states, one of quantities per stage with quantities
    assert text.count("\\frac{d\\,") == 19
    assert "\\mathrm{kint\\_signalling}" in text
