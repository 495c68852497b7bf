"""Code generation: model definition -> compiled kernels (RHS, analytic
Jacobian, sparse LU), SBML/Antimony, and the docs pages about the model."""
