"""A therapeutic IgG1 antibody against a B-cell antigen (rituximab-like; model v2 oncology).

Linear two-compartment PK (allometric, as the cytokines) plus
target-mediated disposition: the antibody binds its antigen (CD20) on
normal B cells and on tumour cells in rapid equilibrium, occupancy
$\\theta = C/(C + K_D)$, and antibody bound to targets is lost as the
targets internalise or shave it and as coated cells are killed. NK cells
kill antibody-coated cells by ADCC at a rate proportional to the ADCC
potency index of the cells stage (NK cells x activated fraction, both
relative to baseline), so IL-21, which raises NK cytotoxicity (granzyme B,
perforin), enhances ADCC (Gowda 2008; in cynomolgus monkeys rituximab with
IL-21 deepened B-cell depletion, Krejsa 2013):

$$
\\frac{dB}{dt} = k_B (B_0 - B) - k_{ADCC} \\, A \\, \\theta B
$$

with $A$ the ADCC index, for B cells that carry the antigen
(``b_cell_antigen_0 > 0``). The kill rate does not depend on how much
antigen a cell carries, only on whether it carries any: in cells that
differed only in their CD20 level, rituximab's ADCC did not follow it
(van Meerten 2006; its complement-dependent killing did, which this model
leaves out), so a sweep across antigen density is flat down to 0, where an
antigen-negative cell is not killed. NK engagement of coated targets
(``adcc_engagement`` = $\\theta$ where there is antigen to coat, else 0) also
stimulates NK IFN-gamma (Roda 2006; interferon stage). The tumour stage
reads the ADCC kill rate of its cells (``tumour_adcc_kill_rate``: that rate
when the tumour carries the antigen, 0 for an antigen-negative tumour) and
returns the rate at which they are killed (``tumour_adcc_loss``, its
accessibility times that), with which the antibody bound to them is lost.
"""

from __future__ import annotations

import sympy as sp

from ...parameters import ParameterSpec
from ..definition import Drug, Quantity, Stage, State, symbols
from .allometric_pk import REFERENCE_WEIGHT
from .trafficking import AVOGADRO_PER_NMOL


def antibody() -> Stage:
    """Antibody PK with target-mediated disposition, normal B cells and their ADCC."""
    central, peripheral, b, tumour = symbols("mab_central mab_peripheral b_cells tumour_cells")
    (mw, cl_ref, vc_ref, q_ref, vp_ref, bw, b_cl, b_v, kd, k_int, b0, k_b, k_adcc, sites_b,
     sites_t) = symbols(
        "mab_mw mab_cl_ref mab_v_central_ref mab_q_ref mab_v_peripheral_ref body_weight "
        "allometric_exponent_cl allometric_exponent_v mab_kd mab_k_internalisation b_cells_0 "
        "k_b_cells k_adcc b_cell_antigen_0 tumour_antigen_per_cell")
    cl, vc, q, vp, conc, theta, adcc, infusion, sites = symbols(
        "mab_cl mab_v_central mab_q mab_v_peripheral mab_plasma mab_occupancy adcc_index "
        "infusion_mab mab_target_sites")
    (tumour_loss,) = symbols("tumour_adcc_loss")
    size = bw / REFERENCE_WEIGHT
    distributed = q * conc - q * peripheral / vp
    kill = k_adcc * adcc * theta

    def on_antigen(rate, antigen):  # the rate for cells that carry antigen, else 0
        return sp.Piecewise((0.0, antigen <= 0), (rate, True))

    b_kill = on_antigen(kill, sites_b)
    sites_on_b = sp.Piecewise((0.0, b0 <= 0), (sites_b * b / b0, True))  # no B cells: none
    sites_on_tumour = sites_t * tumour / AVOGADRO_PER_NMOL
    # NK cells engage coated targets only where there is antigen to coat: B cells that
    # carry it, or a tumour that carries it and is there
    engaged = sp.Piecewise((theta, (sites_b > 0) & (b0 > 0)),
                           (theta, (sites_t > 0) & (tumour > 0)), (0.0, True))
    return Stage(
        name="antibody",
        description=__doc__,
        states=(
            State("mab_central", "nmol", "antibody amount in the central compartment",
                  reported=False, nonnegative=True),
            State("mab_peripheral", "nmol", "antibody in the peripheral compartment",
                  reported=False, nonnegative=True),
            State("b_cells", "cells/uL", "circulating normal (antigen-positive) B cells",
                  initial=b0, nonnegative=True),
        ),
        parameters=(
            ParameterSpec("mab_mw", "kDa", 1e-3, 1e4, "molecular weight of the antibody"),
            ParameterSpec("mab_cl_ref", "L/h", 0.0, 1e4, "linear antibody clearance at 70 kg"),
            ParameterSpec("mab_v_central_ref", "L", 1e-9, 1e4, "antibody central volume at 70 kg"),
            ParameterSpec("mab_q_ref", "L/h", 0.0, 1e4,
                          "antibody inter-compartmental clearance at 70 kg"),
            ParameterSpec("mab_v_peripheral_ref", "L", 1e-9, 1e4,
                          "antibody peripheral volume at 70 kg"),
            ParameterSpec("mab_kd", "nM", 1e-9, 1e6, "antibody/antigen dissociation constant"),
            ParameterSpec("mab_k_internalisation", "1/h", 0.0, 1e3,
                          "loss of target-bound antibody (internalisation, shaving)"),
            ParameterSpec("b_cells_0", "cells/uL", 0.0, 1e5, "baseline circulating B cells"),
            ParameterSpec("k_b_cells", "1/h", 0.0, 10.0, "B-cell turnover (return to baseline)"),
            ParameterSpec("k_adcc", "1/h", 0.0, 1e3,
                          "ADCC kill rate of fully coated cells at baseline NK potency"),
            ParameterSpec("b_cell_antigen_0", "nmol", 0.0, 1e6,
                          "antigen on the body's normal B cells at baseline"),
            ParameterSpec("tumour_antigen_per_cell", "1/cell", 0.0, 1e8,
                          "antigen molecules per tumour cell (0: antigen-negative tumour)"),
        ),
        quantities=(
            Quantity("mab_cl", cl_ref * size**b_cl, "L/h", "linear antibody clearance"),
            Quantity("mab_q", q_ref * size**b_cl, "L/h", "antibody inter-compartmental clearance"),
            Quantity("mab_v_central", vc_ref * size**b_v, "L", "antibody central volume"),
            Quantity("mab_v_peripheral", vp_ref * size**b_v, "L", "antibody peripheral volume"),
            Quantity("mab_plasma", central / vc, "nM", "antibody concentration in plasma",
                     reported=True),
            Quantity("mab_occupancy", conc / (conc + kd), "1",
                     "fraction of target antigen bound by the antibody", reported=True),
            Quantity("adcc_engagement", engaged, "1",
                     "NK engagement of antibody-coated targets (0 with no antigen to coat)"),
            Quantity("mab_target_sites", sites_on_b + sites_on_tumour, "nmol",
                     "antigen on B cells and tumour cells"),
            Quantity("adcc_kill_rate", kill, "1/h", "ADCC kill rate of antigen-positive cells"),
            Quantity("tumour_adcc_kill_rate", on_antigen(kill, sites_t),
                     "1/h", "ADCC kill rate of the tumour's cells (0: antigen-negative tumour)"),
        ),
        rates={
            "mab_central": infusion - cl * conc - distributed
            - theta * ((k_int + b_kill) * sites_on_b + (k_int + tumour_loss) * sites_on_tumour),
            "mab_peripheral": distributed,
            "b_cells": k_b * (b0 - b) - b_kill * b,
        },
        inputs={"adcc_index": 1.0, "body_weight": None, "allometric_exponent_cl": None,
                "allometric_exponent_v": None, "tumour_cells": 0.0, "tumour_adcc_loss": 0.0},
        drugs=(Drug("mab", mw="mab_mw", central="mab_central", cmt={5: "mab_central"},
                    description="therapeutic antibody"),),
        report=("mab_plasma", "mab_occupancy", "b_cells"),
        time_unit="h",
    )
