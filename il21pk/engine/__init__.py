"""The engine: a generic stiff integrator, dose events and batches. It knows no
IL-21: it integrates whatever model :mod:`il21pk.codegen` generated.
"""
