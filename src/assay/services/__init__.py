"""The one service layer: every rule of the product, used by the REST routes and nothing else."""
