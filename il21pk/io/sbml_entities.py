"""The quantities of an SBML model as plain records, read once from libsbml.

A :class:`Quantity` is anything that can appear by id in math and carry a
value: a compartment, a species, a global parameter or a species reference
with an id. A :class:`ReactionRecord` holds a reaction's kinetic law, local
parameters (already renamed to ``<reaction>_<param>``) and participants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ode_system import Kind
from .sbml_errors import SbmlError
from .sbml_units import level2_default, unit_string


@dataclass
class Quantity:
    """One SBML quantity, before deciding whether it becomes a state, constant or assignment.

    Attributes
    ----------
    id, kind, description, unit
        As in :class:`~il21pk.io.ode_system.StateDef`.
    constant : bool
        The SBML ``constant`` attribute.
    value : float or None
        The literal initial value (species: ``initialAmount``, compartments:
        ``size``, parameters: ``value``, species references: ``stoichiometry``).
    concentration : float or None
        A species' ``initialConcentration``, when given instead of an amount.
    compartment : str or None
        A species' compartment id.
    amount_in_math : bool
        A species whose id means its amount in math (``hasOnlySubstanceUnits``
        or a 0-dimensional compartment); otherwise it means amount/size.
    boundary : bool
        A species' ``boundaryCondition``.
    conversion_factor : str or None
        The conversion-factor parameter id applying to a species.
    """

    id: str
    kind: Kind
    constant: bool
    value: float | None
    unit: str | None
    description: str = ""
    concentration: float | None = None
    compartment: str | None = None
    amount_in_math: bool = True
    boundary: bool = False
    conversion_factor: str | None = None


@dataclass
class Participant:
    """A reactant or product: its species and the stoichiometry's source."""

    species: str
    sign: int
    reference_id: str | None
    stoichiometry: float | None
    stoichiometry_math: Any = None


@dataclass
class ReactionRecord:
    """A reaction: kinetic law math, renamed local parameters and participants."""

    id: str
    kinetic_law: Any
    local_names: dict[str, str] = field(default_factory=dict)
    local_parameters: list[Quantity] = field(default_factory=list)
    participants: list[Participant] = field(default_factory=list)


def _optional(value: float, is_set: bool) -> float | None:
    """The attribute's value if the SBML sets it (INF and NaN included), else None."""
    return float(value) if is_set else None


def _compartment_unit(model: Any, compartment: Any) -> str | None:
    if compartment.isSetUnits():
        return unit_string(model, compartment.getUnits())
    dims = compartment.getSpatialDimensionsAsDouble()
    if model.getLevel() >= 3:
        attr = {3.0: model.getVolumeUnits, 2.0: model.getAreaUnits, 1.0: model.getLengthUnits}
        getter = attr.get(dims)
        return unit_string(model, getter()) if getter else None
    builtin = {3.0: "volume", 2.0: "area", 1.0: "length"}.get(dims)
    return level2_default(model, builtin) if builtin else None


def _substance_unit(model: Any, species: Any) -> str | None:
    if species.isSetSubstanceUnits():
        return unit_string(model, species.getSubstanceUnits())
    if model.getLevel() >= 3:
        return unit_string(model, model.getSubstanceUnits())
    return level2_default(model, "substance")


def is_point(compartment: Any) -> bool:
    """Whether a compartment is a point: 0-dimensional and given no size.

    Species in a point are amounts in math. A 0-dimensional compartment with
    a size (value, initial assignment or rule) behaves like any other, as
    SBML Level 3 Version 2 Release 2 settles (SBML Test Suite 01809).
    """
    if not (
        compartment.isSetSpatialDimensions() and compartment.getSpatialDimensionsAsDouble() == 0
    ):
        return False
    model = compartment.getModel()
    cid = compartment.getId()
    sized = compartment.isSetSize() or (
        model is not None
        and (model.getInitialAssignment(cid) is not None or model.getRule(cid) is not None)
    )
    return not sized


def read_quantities(model: Any) -> dict[str, Quantity]:
    """Compartments, species, parameters and identified species references, by id."""
    out: dict[str, Quantity] = {}
    level = model.getLevel()
    for c in model.getListOfCompartments():
        out[c.getId()] = Quantity(
            id=c.getId(),
            kind="compartment",
            constant=c.getConstant(),
            value=1.0 if is_point(c) else _optional(c.getSize(), c.isSetSize()),
            unit=_compartment_unit(model, c),
            description=c.getName(),
        )
    model_cf = model.getConversionFactor() if level >= 3 and model.isSetConversionFactor() else None
    for s in model.getListOfSpecies():
        compartment = model.getCompartment(s.getCompartment())
        if compartment is None:
            raise SbmlError(
                f"species {s.getId()!r} is in compartment {s.getCompartment()!r}, "
                "which the model does not define"
            )
        zero_d = is_point(compartment)
        cf = s.getConversionFactor() if level >= 3 and s.isSetConversionFactor() else model_cf
        out[s.getId()] = Quantity(
            id=s.getId(),
            kind="species_amount",
            constant=s.getConstant(),
            value=_optional(s.getInitialAmount(), s.isSetInitialAmount()),
            concentration=_optional(s.getInitialConcentration(), s.isSetInitialConcentration()),
            unit=_substance_unit(model, s),
            description=s.getName(),
            compartment=s.getCompartment(),
            amount_in_math=bool(s.getHasOnlySubstanceUnits()) or zero_d,
            boundary=bool(s.getBoundaryCondition()),
            conversion_factor=cf or None,
        )
        if zero_d and out[s.getId()].value is None:
            # a point compartment has no size: an initial "concentration" is the amount
            out[s.getId()].value = out[s.getId()].concentration
            out[s.getId()].concentration = None
    for p in model.getListOfParameters():
        out[p.getId()] = Quantity(
            id=p.getId(),
            kind="parameter",
            constant=p.getConstant(),
            value=_optional(p.getValue(), p.isSetValue()),
            unit=unit_string(model, p.getUnits()) if p.isSetUnits() else None,
            description=p.getName(),
        )
    # species references are quantities (usable in math, rules, events) from Level 3 on
    for reaction in model.getListOfReactions() if level >= 3 else ():
        for ref in list(reaction.getListOfReactants()) + list(reaction.getListOfProducts()):
            if ref.isSetId() and ref.getId():
                out[ref.getId()] = Quantity(
                    id=ref.getId(),
                    kind="species_reference",
                    constant=bool(ref.getConstant()),
                    value=_stoichiometry(ref, level),
                    unit="1",
                    description=ref.getName() if ref.isSetName() else "",
                )
    return out


def _stoichiometry(ref: Any, level: int) -> float | None:
    if level >= 3:
        return _optional(ref.getStoichiometry(), ref.isSetStoichiometry())
    if ref.isSetStoichiometryMath():
        return None
    return float(ref.getStoichiometry())


def read_reactions(model: Any, taken: set[str]) -> list[ReactionRecord]:
    """The reactions, with local parameters renamed ``<reaction>_<param>`` (unique in `taken`)."""
    level = model.getLevel()
    records = []
    for reaction in model.getListOfReactions():
        rid = reaction.getId()
        law = reaction.getKineticLaw()
        if law is None or law.getMath() is None:
            raise SbmlError(f"reaction {rid!r} has no kinetic law; its rate is undefined")
        record = ReactionRecord(id=rid, kinetic_law=law.getMath())
        locals_ = law.getListOfLocalParameters() if level >= 3 else law.getListOfParameters()
        for lp in locals_:
            name = f"{rid}_{lp.getId()}"
            while name in taken:
                name += "_"
            taken.add(name)
            value = _optional(lp.getValue(), lp.isSetValue())
            if value is None:
                raise SbmlError(f"local parameter {lp.getId()!r} of reaction {rid!r} has no value")
            record.local_names[lp.getId()] = name
            record.local_parameters.append(
                Quantity(
                    id=name,
                    kind="local_parameter",
                    constant=True,
                    value=value,
                    unit=unit_string(model, lp.getUnits()) if lp.isSetUnits() else None,
                    description=lp.getName(),
                )
            )
        for sign, refs in ((-1, reaction.getListOfReactants()), (1, reaction.getListOfProducts())):
            for ref in refs:
                stoich_math = None
                if level < 3 and ref.isSetStoichiometryMath():
                    stoich_math = ref.getStoichiometryMath().getMath()
                record.participants.append(
                    Participant(
                        species=ref.getSpecies(),
                        sign=sign,
                        reference_id=(
                            ref.getId() if level >= 3 and ref.isSetId() and ref.getId() else None
                        ),
                        stoichiometry=_stoichiometry(ref, level),
                        stoichiometry_math=stoich_math,
                    )
                )
        records.append(record)
    return records
