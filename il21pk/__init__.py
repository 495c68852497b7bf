"""il21pk: mechanistic PK/PD of interleukin-21.

dose -> PK -> IL-21R/gamma-c binding -> pSTAT3 -> NK/CD8 expansion -> IFN-gamma,
integrated by a compiled BDF solver
(scipy's solvers as cross-checks). Time is in hours, amounts in nmol, concentrations in nM.
"""

from __future__ import annotations

# Model structure and values
from . import parameter_sets, plotting, units

# Analysis
from .analysis.population import PopulationFitResult, fit_population
from .data import Dataset, read_csv
from .dose_response import DoseResponseResult, dose_response

# Errors
from .errors import (
    DataError,
    FitError,
    Il21pkError,
    ParameterError,
    RegimenError,
    SimulationError,
)
from .fitting import FitResult, ProfileResult, SubjectFits, fit
from .model import Model
from .nca import nca

# Inputs
from .nonmem import regimens_from_nonmem
from .parameters import Parameter, ParameterSet, ParameterSpec
from .regimen import Dose, Regimen

# Running
from .results import SimulationResult
from .sampling import latin_hypercube, sobol_samples, virtual_population
from .sensitivity import global_indices, sensitivity
from .simulate import simulate
from .sweep import sweep

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Dataset",
    "DoseResponseResult",
    "Dose",
    "FitError",
    "FitResult",
    "PopulationFitResult",
    "ProfileResult",
    "SubjectFits",
    "Il21pkError",
    "Model",
    "Parameter",
    "ParameterError",
    "ParameterSet",
    "ParameterSpec",
    "Regimen",
    "RegimenError",
    "SimulationError",
    "SimulationResult",
    "parameter_sets",
    "read_csv",
    "plotting",
    "regimens_from_nonmem",
    "dose_response",
    "fit",
    "fit_population",
    "global_indices",
    "latin_hypercube",
    "nca",
    "sensitivity",
    "simulate",
    "sobol_samples",
    "sweep",
    "virtual_population",
    "units",
    "__version__",
]
