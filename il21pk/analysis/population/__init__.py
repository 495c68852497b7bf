"""Population (nonlinear mixed-effects) fitting: SAEM and FOCEi.

Entry point: :func:`fit_population` (also ``il21pk.fit_population``), which
returns a :class:`PopulationFitResult`. Covariate effects
(:class:`Power`, :class:`Exponential`, :class:`Linear`,
:class:`Categorical`), algorithm settings (:class:`SaemSettings`,
:class:`FoceiSettings`) and the closed-form :class:`OneCompartmentOral`
model live here too.
"""

from __future__ import annotations

from .api import fit_population
from .covariates import Categorical, Exponential, Linear, Power
from .focei import FoceiSettings
from .predictors import ModelPredictor, OneCompartmentOral
from .result import PopulationFitResult
from .saem import SaemSettings

__all__ = [
    "Categorical",
    "Exponential",
    "FoceiSettings",
    "Linear",
    "ModelPredictor",
    "OneCompartmentOral",
    "PopulationFitResult",
    "Power",
    "SaemSettings",
    "fit_population",
]
