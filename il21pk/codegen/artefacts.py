"""Every generated file committed to the repository, and how to rewrite them.

The built-in models' compiled modules (``il21pk/codegen/generated/``) and the
model and parameter pages of the docs. ``tests/test_generated.py`` regenerates
each and checks it equals what is committed.
"""

from __future__ import annotations

from pathlib import Path

from ..model import Model
from . import docs, kernel
from .build import GENERATED, module_name

DOCS = Path(__file__).resolve().parents[2] / "docs"


def builtin_models() -> dict[str, Model]:
    """The built-in models whose compiled modules ship with the package."""
    return {"full": Model.v1(), "pk_only_1": Model.pk_only(compartments=1),
            "pk_only_2": Model.pk_only(compartments=2), "in_vitro": Model.in_vitro_v1(),
            "v2": Model(), "oncology": Model.oncology(), "in_vitro_v2": Model.in_vitro()}


def artefacts() -> dict[Path, str]:
    """Path -> text of every committed generated file."""
    out = {GENERATED / f"{module_name(m.definition)}.py": kernel.source(m.definition)
           for m in builtin_models().values()}
    out.update({DOCS / name: build() for name, build in docs.PAGES.items()})
    return out


def write() -> list[Path]:
    """Rewrite every artefact (and remove stale generated modules); return the paths."""
    files = artefacts()
    for stale in GENERATED.glob("*.py"):
        if stale not in files and stale.name != "__init__.py":
            stale.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)
