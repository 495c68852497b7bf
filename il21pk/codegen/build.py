"""Find, write and import the generated module of a model definition.

Generated code is cached per definition (:meth:`ModelDefinition.key`):

1. the built-in models' modules are committed in ``il21pk/codegen/generated/``
   (``python -m il21pk.codegen`` rewrites them; a test checks they are current);
2. any other model's module is written once into the user cache directory
   (``$IL21PK_CACHE_DIR``, default ``~/.cache/il21pk``), where numba also keeps
   its machine code, so a user model compiles once per machine.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import types
from pathlib import Path

from ..model.compose import ModelDefinition
from . import kernel

GENERATED = Path(__file__).with_name("generated")


def module_name(definition: ModelDefinition) -> str:
    """File stem of the generated module: the model's name (its first 60 characters:
    a BioModels title can be longer than a file name may be) and its key."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in definition.name.lower()[:60])
    return f"{safe}_{definition.key()}"


def cache_directory() -> Path:
    """Where generated modules of user models are written."""
    root = os.environ.get("IL21PK_CACHE_DIR") or Path.home() / ".cache" / "il21pk"
    return Path(root) / f"models-v{kernel.CODEGEN_VERSION}"


def _write(path: Path, text: str) -> None:
    """Write atomically, so concurrent processes never import half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _import(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def import_generated(name: str, path: str) -> types.ModuleType:
    """The generated module `name` at `path`, imported as :func:`generated_module`
    imported it (in another process: numba's cache is keyed by both)."""
    if name in sys.modules:
        return sys.modules[name]
    if name.startswith(f"{__package__}.generated."):
        return importlib.import_module(name)
    return _import(Path(path), name)


def generated_module(definition: ModelDefinition) -> types.ModuleType:
    """The imported generated module of `definition` (written on first use)."""
    stem = module_name(definition)
    path = GENERATED / f"{stem}.py"
    if path.exists():
        return importlib.import_module(f"{__package__}.generated.{stem}")
    name = f"il21pk_generated_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    path = cache_directory() / f"{stem}.py"
    if not path.exists():
        _write(path, kernel.source(definition))
    return _import(path, name)
