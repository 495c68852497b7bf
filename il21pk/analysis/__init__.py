"""Analyses built on the simulation engine.

:mod:`il21pk.analysis.population` holds nonlinear mixed-effects (population)
fitting: SAEM and FOCEi, covariate models and their diagnostics.
"""
