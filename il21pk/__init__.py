"""il21pk: mechanistic PK/PD of interleukin-21.

dose -> PK -> IL-21R/gamma-c binding -> pSTAT3 -> NK/CD8 expansion -> IFN-gamma,
integrated by a compiled BDF solver (scipy's solvers as cross-checks). Time is
in hours, amounts in nmol, concentrations in nM.

The package is laid out as its data flow: ``model`` (what the model is),
``codegen`` (definition -> compiled kernels, SBML, docs), ``engine`` (the
generic integrator), ``analysis`` (the verbs), ``io`` (NONMEM data, SBML
import); this module re-exports the public API.
"""

from __future__ import annotations

from . import parameter_sets, plotting, units
from .analysis.dose_response import DoseResponseResult, dose_response
from .analysis.fitting import FitResult, ProfileResult, SubjectFits, fit
from .analysis.nca import nca
from .analysis.population import PopulationFitResult, fit_population
from .analysis.results import SimulationResult
from .analysis.sampling import latin_hypercube, sobol_samples, virtual_population
from .analysis.sensitivity import global_indices, sensitivity
from .analysis.simulate import simulate
from .analysis.sweep import sweep
from .errors import (
    DataError,
    FitError,
    Il21pkError,
    ParameterError,
    RegimenError,
    SimulationError,
)
from .io.data import Dataset, read_csv
from .model import Drug, Model, Quantity, Stage, State
from .parameters import Parameter, ParameterSet, ParameterSpec
from .regimen import Dose, Regimen, regimens_from_nonmem

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
    "Stage",
    "State",
    "Quantity",
    "Drug",
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
