"""The error raised when an SBML or Antimony model cannot be imported faithfully."""

from __future__ import annotations

from ..errors import Il21pkError


class SbmlError(Il21pkError, ValueError):
    """An SBML/Antimony model is invalid, or uses a construct il21pk does not support.

    The message names the SBML element and its id (``event 'E1' has a delay;
    event delays are not supported``). Unsupported constructs are always an
    error, never an approximation.
    """
