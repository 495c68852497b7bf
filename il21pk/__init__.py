"""il21pk: mechanistic PK/PD of interleukin-21.

dose -> PK -> IL-21R/gamma-c binding -> pSTAT3 -> NK/CD8 expansion -> IFN-gamma,
integrated by a compiled BDF solver (scipy's solvers as cross-checks). Time is in hours, amounts in nmol, concentrations in nM.
"""

from __future__ import annotations

# Errors
from .errors import (
    DataError,
    FitError,
    Il21pkError,
    ParameterError,
    RegimenError,
    SimulationError,
)

# Model structure and values
from . import parameter_sets, plotting, units
from .model import Model
from .parameters import Parameter, ParameterSet, ParameterSpec

# Inputs
from .nonmem import regimens_from_nonmem
from .regimen import Dose, Regimen

# Analysis
from .data import Dataset, read_csv
from .dose_response import DoseResponseResult, dose_response
from .fitting import FitResult, ProfileResult, SubjectFits, fit
from .nca import nca
from .sensitivity import global_indices, sensitivity

# Running
from .results import SimulationResult
from .sampling import latin_hypercube, sobol_samples, virtual_population
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
