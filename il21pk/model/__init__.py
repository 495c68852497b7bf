"""What the model is: stage declarations, their composition, the built-in stages.

- :mod:`~il21pk.model.definition`: ``Stage``, ``State``, ``Quantity``, ``Drug``;
- :mod:`~il21pk.model.compose`: ``ModelDefinition`` (stages wired by name);
- :mod:`~il21pk.model.stages`: the built-in IL-21 stages, chained by
  :mod:`~il21pk.model.v1` and :mod:`~il21pk.model.v2`;
- :mod:`~il21pk.model.model`: ``Model``, the object every verb takes.
"""

from __future__ import annotations

from .compose import ModelDefinition, Variable
from .definition import TIME, Drug, Quantity, Stage, State, symbols
from .model import Culture, Model
from .v1 import il21_chain

__all__ = ["TIME", "Culture", "Drug", "Model", "ModelDefinition", "Quantity", "Stage", "State",
           "Variable", "il21_chain", "symbols"]
