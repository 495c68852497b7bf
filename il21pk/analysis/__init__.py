"""The analysis verbs: simulate and its results, metrics, sweeps and virtual
populations, dose-response, NCA, fitting, sensitivity, and the executors
that run many simulations."""
