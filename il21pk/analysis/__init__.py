"""The analysis verbs: simulate and its results, metrics, sweeps and virtual
populations, dose-response, NCA, fitting and population (mixed-effects)
fitting (:mod:`il21pk.analysis.population`: SAEM and FOCEi, covariate models
and their diagnostics), sensitivity, and the executors that run many
simulations."""
