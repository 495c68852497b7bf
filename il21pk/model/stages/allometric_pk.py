"""Pharmacokinetics of one drug with allometric clearances and volumes (model v2).

The same compartments as `il21pk.model.stages.pk.pk` (SC depot,
central, peripheral, running AUC; amounts in nmol), but clearances and
volumes are given for a 70 kg reference and scaled to the body weight:

$$
CL = CL_{ref} (BW/70)^{b_{CL}}, \\quad Q = Q_{ref} (BW/70)^{b_{CL}}, \\quad
V_c = V_{c,ref} (BW/70)^{b_V}, \\quad V_p = V_{p,ref} (BW/70)^{b_V}
$$

with the exponents ``allometric_exponent_cl`` (0.75) and
``allometric_exponent_v`` (1.0) shared by every drug. One reference value then
serves monkeys and humans, so the human and cynomolgus sets cannot disagree
about a drug's clearance (the v1 sets did, by 3x). The central amount also
loses the receptor uptake ``<drug>_uptake`` [nmol/h] (receptors stage) and
the drug bound and cleared by anti-drug antibodies at
``<drug>_ada_clearance`` [L/h] times the plasma concentration (ADA stage);
both are 0 when no stage provides them.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...parameters import ParameterSpec
from ..definition import Drug, Quantity, Stage, symbols
from .pk import pk_states

#: Body weight [kg] the reference clearances and volumes are given for.
REFERENCE_WEIGHT = 70.0


def allometric_pk(drug: str = "il21", *, prefix: str = "il21_", description: str = "IL-21",
                  shared: Mapping[str, str] | None = None, stage_name: str | None = None,
                  cmt: Mapping[int, str] | None = None, owns_scaling: bool = True) -> Stage:
    """A linear two-compartment PK stage with allometrically scaled CL, Q and volumes.

    Parameters
    ----------
    drug : str
        Drug name; states ``<drug>_depot``, ``<drug>_central``,
        ``<drug>_peripheral``, ``<drug>_auc``; concentration ``<drug>_plasma`` [nM].
    prefix : str
        Prefix of the drug's own parameter names (``il21_cl_ref``, ...).
    description : str
        Drug description used in the state descriptions.
    shared : mapping of str to str, optional
        Names to use for the molecular weight and absorption parameters
        (keys ``mw``, ``ka``, ``f_sc``, ``tlag_sc``) instead of the prefixed
        ones, e.g. the v1 names ``mw``, ``ka``, ``f_sc``, ``tlag_sc`` for IL-21.
    stage_name : str, optional
        Default ``"pk"`` for IL-21, ``"pk_<drug>"`` otherwise.
    cmt : mapping of int to str, optional
        NONMEM ``CMT`` numbers of the drug's depot and central states.
    owns_scaling : bool
        Whether this stage declares ``body_weight`` and the two allometric
        exponents (the first drug's stage does; the others read them).
    """
    d = drug
    names = {k: f"{prefix}{k}" for k in ("mw", "ka", "f_sc", "tlag_sc")}
    names.update(dict(shared or {}))
    depot, central, peripheral, plasma = symbols(
        f"{d}_depot {d}_central {d}_peripheral {d}_plasma")
    cl_ref, vc_ref, q_ref, vp_ref, bw, b_cl, b_v = symbols(
        f"{prefix}cl_ref {prefix}v_central_ref {prefix}q_ref {prefix}v_peripheral_ref "
        "body_weight allometric_exponent_cl allometric_exponent_v")
    cl, vc, q, vp = symbols(f"{prefix}cl {prefix}v_central {prefix}q {prefix}v_peripheral")
    ka, = symbols(names["ka"])
    infusion, uptake, ada = symbols(f"infusion_{d} {d}_uptake {d}_ada_clearance")
    size = bw / REFERENCE_WEIGHT
    absorbed = ka * depot
    distributed = q * plasma - q * peripheral / vp
    scaling = (
        ParameterSpec("body_weight", "kg", 0.01, 500.0, "body weight used for per-kg doses"),
        ParameterSpec("allometric_exponent_cl", "1", 0.0, 2.0,
                      "allometric exponent of clearances (CL, Q)"),
        ParameterSpec("allometric_exponent_v", "1", 0.0, 2.0, "allometric exponent of volumes"),
    )
    inputs: dict[str, float | None] = {f"{d}_uptake": 0.0, f"{d}_ada_clearance": 0.0}
    if not owns_scaling:
        inputs.update({p.name: None for p in scaling})
    return Stage(
        name=stage_name or ("pk" if d == "il21" else f"pk_{d}"),
        description=__doc__,
        states=pk_states(d, description),
        parameters=(
            ParameterSpec(names["mw"], "kDa", 1e-3, 1e4, f"molecular weight of {description}"),
            *(scaling if owns_scaling else ()),
            ParameterSpec(f"{prefix}cl_ref", "L/h", 0.0, 1e4,
                          f"linear clearance of {description} at 70 kg"),
            ParameterSpec(f"{prefix}v_central_ref", "L", 1e-9, 1e4,
                          f"central volume of {description} at 70 kg"),
            ParameterSpec(f"{prefix}q_ref", "L/h", 0.0, 1e4,
                          f"inter-compartmental clearance of {description} at 70 kg"),
            ParameterSpec(f"{prefix}v_peripheral_ref", "L", 1e-9, 1e4,
                          f"peripheral volume of {description} at 70 kg"),
            ParameterSpec(names["ka"], "1/h", 0.0, 1e3,
                          f"first-order SC absorption rate constant of {description}"),
            ParameterSpec(names["f_sc"], "1", 0.0, 1.0, f"SC bioavailability of {description}"),
            ParameterSpec(names["tlag_sc"], "h", 0.0, 48.0,
                          f"SC absorption lag time of {description}"),
        ),
        quantities=(
            Quantity(f"{prefix}cl", cl_ref * size**b_cl, "L/h",
                     f"linear clearance of {description} at this body weight"),
            Quantity(f"{prefix}q", q_ref * size**b_cl, "L/h",
                     f"inter-compartmental clearance of {description}"),
            Quantity(f"{prefix}v_central", vc_ref * size**b_v, "L",
                     f"central volume of {description}"),
            Quantity(f"{prefix}v_peripheral", vp_ref * size**b_v, "L",
                     f"peripheral volume of {description}"),
            Quantity(f"{d}_plasma", central / vc, "nM",
                     f"free {description} concentration in plasma", reported=True),
        ),
        rates={
            f"{d}_depot": -absorbed,
            f"{d}_central": absorbed + infusion - cl * plasma - distributed - uptake
            - ada * plasma,
            f"{d}_peripheral": distributed,
            f"{d}_auc": plasma,
        },
        inputs=inputs,
        drugs=(Drug(d, mw=names["mw"], central=f"{d}_central", depot=f"{d}_depot",
                    bioavailability=names["f_sc"], lag=names["tlag_sc"], cmt=dict(cmt or {}),
                    description=description),),
        report=(f"{d}_depot", f"{d}_plasma", f"{d}_peripheral", f"{d}_auc"),
        time_unit="h",
    )
