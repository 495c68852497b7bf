"""Human set with N-803 (the IL-15 superagonist, IL-15N72D:IL-15R-alpha-Su/Fc) as the
``"il15"`` drug of model v2.

Everything is the human set except the IL-15 drug's molecular weight, PK and
potency: SC N-803 in healthy volunteers reached its maximum at about 4 h and
had a half-life of about 20 h (J Immunol 2022): the half-life is that of the
slow absorption of the large complex from the injection site, elimination
(linear plus the receptor sink) being fast. Use it with
``Model.v2()`` and ``Dose(..., drug="il15", route="sc")``.
"""

from __future__ import annotations

from .human import VALUES as _HUMAN

VALUES: dict[str, tuple[float, str]] = {
    **_HUMAN,
    "il15_mw": (92.0, "assumed: N-803 complex (IL-15N72D dimer bound to IL-15R-alpha sushi-Fc), "
                      "about 92 kDa"),
    "il15_cl_ref": (1.5, "N803HV2022: calibrated with il15_ka to the SC Tmax of about 4 h"),
    "il15_v_central_ref": (2.8, "assumed: plasma volume, as rhIL-15"),
    "il15_ka": (0.035, "N803HV2022: the SC t1/2 of about 20 h is the slow absorption of the 92 "
                       "kDa complex (flip-flop kinetics): ka = ln 2 / 20 h"),
    "il15_f_sc": (0.3, "assumed: as rhIL-15"),
    "kd_il15": (43.8, "assumed: the pre-bound IL-15R-alpha sushi domain raises the affinity for "
                      "IL-2R-beta about 10-fold over free IL-15"),
}
