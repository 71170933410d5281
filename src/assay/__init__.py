"""Assay: a self-hosted model evaluation platform.

``from assay import hub`` is the Python SDK (seed 001's ``ah``).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
