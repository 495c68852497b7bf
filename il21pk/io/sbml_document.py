"""Read an SBML document (file, text or Antimony) and reject what il21pk cannot run.

This module owns the libsbml entry points: parsing, parse errors, the
Antimony conversion and the checks for constructs outside SBML core ODE
semantics (packages, algebraic rules, fast reactions, event delays).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InputTypeError
from .sbml_errors import SbmlError

#: Packages that cannot change a simulation: drawings (layout, render), and
#: libsbml's internal plugin for Level 3 Version 2 math in a Version 1 model
#: (the math itself is handled by the converter).
_HARMLESS_PACKAGES = frozenset({"layout", "render", "l3v2extendedmath"})


def _looks_like_path(source: str) -> bool:
    text = source.lstrip()
    if text.startswith("<"):
        return False
    return "\n" not in source and len(source) < 4096


def read_document(source: str | os.PathLike[str]) -> Any:
    """Parse SBML from a path or from XML text into a checked libsbml SBMLDocument.

    Parameters
    ----------
    source : str or path-like
        A path to an ``.xml``/``.sbml`` file, or the SBML text itself.

    Raises
    ------
    SbmlError
        The file does not exist, the XML is not valid SBML, or the model uses
        a construct il21pk does not support.
    """
    import libsbml

    if isinstance(source, str) and not source.strip():
        raise SbmlError("source must be a path or SBML text; got an empty string")
    if isinstance(source, os.PathLike) or (isinstance(source, str) and _looks_like_path(source)):
        path = Path(source)
        if not path.is_file():
            raise SbmlError(f"SBML file {str(path)!r} does not exist")
        document = libsbml.readSBMLFromFile(str(path))
        origin = str(path)
    elif isinstance(source, str):
        document = libsbml.readSBMLFromString(source)
        origin = "SBML text"
    else:
        raise TypeError(f"source must be a path or SBML text; got {type(source).__name__}")
    errors = [
        document.getError(i)
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity()
        in (libsbml.LIBSBML_SEV_ERROR, libsbml.LIBSBML_SEV_FATAL)
    ]
    if errors:
        lines = "; ".join(
            f"line {e.getLine()}: {e.getShortMessage() or e.getMessage().strip()}"
            for e in errors[:5]
        )
        raise SbmlError(f"{origin} is not valid SBML ({len(errors)} error(s)): {lines}")
    if document.getModel() is None:
        raise SbmlError(f"{origin} contains no <model>")
    check_supported(document)
    return document


def sbml_from_antimony(text: str) -> str:
    """Convert Antimony text to SBML text (the level antimony writes: Level 3 Version 2).

    Raises
    ------
    SbmlError
        The Antimony text does not parse; the message is Antimony's own.
    """
    import antimony

    if not isinstance(text, str):  # antimony aborts the process on None
        raise InputTypeError(f"Antimony text must be a str; got {type(text).__name__} "
                             f"{text!r}"[:300] + " (read a file with Path(...).read_text())")
    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(text) < 0:
        raise SbmlError(f"Antimony text does not parse: {antimony.getLastError().strip()}")
    module = antimony.getMainModuleName()
    sbml = antimony.getSBMLString(module)
    if not sbml:
        raise SbmlError(f"Antimony could not write SBML: {antimony.getLastError().strip()}")
    return sbml


def check_supported(document: Any) -> None:
    """Raise :class:`SbmlError` for every construct outside the supported core.

    Unsupported: SBML packages other than layout/render, algebraic rules,
    fast reactions and events with a delay. Everything is listed at once.
    """
    import libsbml

    problems: list[str] = []
    for i in range(document.getNumPlugins()):
        package = document.getPlugin(i).getPackageName()
        if package not in _HARMLESS_PACKAGES:
            problems.append(
                f"the SBML package {package!r} is used; SBML packages are not supported"
            )
    for i in range(document.getNumUnknownPackages()):
        prefix = document.getUnknownPackagePrefix(i)
        if prefix not in _HARMLESS_PACKAGES:
            problems.append(
                f"the SBML package {prefix!r} ({document.getUnknownPackageURI(i)}) is used; "
                "SBML packages are not supported"
            )
    model = document.getModel()
    for rule in model.getListOfRules():
        if rule.getTypeCode() == libsbml.SBML_ALGEBRAIC_RULE:
            formula = libsbml.formulaToL3String(rule.getMath()) if rule.getMath() else ""
            problems.append(f"algebraic rule '0 = {formula}' is not supported (DAEs)")
    for reaction in model.getListOfReactions():
        if reaction.isSetFast() and reaction.getFast():
            problems.append(
                f"reaction {reaction.getId()!r} is fast; fast reactions are not supported"
            )
    for event in model.getListOfEvents():
        if event.isSetDelay() and event.getDelay().getMath() is not None:
            problems.append(
                f"event {event.getId() or '(no id)'!r} has a delay; event delays are not supported"
            )
    if problems:
        raise SbmlError("; ".join(problems))
