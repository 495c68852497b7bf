"""Anti-drug antibodies against IL-21 (model v2).

Exposure to the drug sensitises the immune system (a memory that does not
decay over the months simulated); sensitisation drives the synthesis of
neutralising anti-drug antibodies (ADA), which are eliminated as IgG.
ADA bind the drug in plasma and the immune complexes are cleared, which adds
a clearance to the drug's PK stage:

$$
\\frac{dS}{dt} = k_S \\frac{C}{C + EC_{50}}, \\qquad
\\frac{d\\,ADA}{dt} = k_{syn} S - k_{el} ADA, \\qquad
CL_{ADA} = k_{on,ADA} \\, ADA \\, V_c
$$

with $C$ the plasma drug concentration. Because $S$ accumulates
with every exposure and ADA follow with the IgG lifetime, antibodies grow
over the cycles; in cynomolgus monkeys anti-rIL-21 antibodies reduced the
PD over repeated cycles (Waggie 2012). ``ada_titer`` is the neutralising
binding capacity [nM]. Binding does not use the titre up: the clearance is
$k_{on,ADA} \\, ADA$ whatever the drug concentration, a simplification
that holds for antibody in excess of drug. There is no delay between the
first exposure and the first antibodies, so they act within the first
cycle already: with the cynomolgus set, 100 ug/kg IV daily, the IL-21 AUC
of the fifth dose is 20 % below the first's (without ADA, the same). The
human set switches ADA off (``ada_sensitisation = 0``); set it > 0 to study
them.
"""

from __future__ import annotations

from ...parameters import ParameterSpec
from ..definition import Quantity, Stage, State, symbols


def ada(drug: str = "il21", *, volume: str = "il21_v_central") -> Stage:
    """ADA against `drug`: sensitisation, titre, and the clearance they add."""
    s, titre, conc, vc = symbols(f"ada_sensitisation_state ada_titer {drug}_plasma {volume}")
    k_s, ec50, k_syn, k_el, kon = symbols(
        "ada_sensitisation ada_ec50 ada_synthesis ada_elimination ada_kon")
    return Stage(
        name="ada",
        description=__doc__,
        states=(
            State("ada_sensitisation_state", "1", "accumulated sensitisation to the drug",
                  reported=False, nonnegative=True),
            State("ada_titer", "nM", "neutralising anti-drug antibody binding capacity",
                  nonnegative=True),
        ),
        parameters=(
            ParameterSpec("ada_sensitisation", "1/h", 0.0, 1e3,
                          "sensitisation rate at saturating drug exposure (0: no ADA)"),
            ParameterSpec("ada_ec50", "nM", 1e-9, 1e6,
                          "drug concentration giving half-maximal sensitisation"),
            ParameterSpec("ada_synthesis", "nM/h", 0.0, 1e6,
                          "ADA synthesis per unit of sensitisation"),
            ParameterSpec("ada_elimination", "1/h", 1e-9, 1e3, "elimination of ADA (IgG)"),
            ParameterSpec("ada_kon", "1/(nM*h)", 0.0, 1e6,
                          "rate constant of drug binding and clearance by ADA"),
        ),
        quantities=(
            Quantity(f"{drug}_ada_clearance", kon * titre * vc, "L/h",
                     "clearance of the drug by anti-drug antibodies"),
        ),
        rates={"ada_sensitisation_state": k_s * conc / (conc + ec50),
               "ada_titer": k_syn * s - k_el * titre},
        inputs={f"{drug}_plasma": None, volume: None},
        time_unit="h",
    )
