"""The REST API: thin FastAPI routes over ``assay.services``."""
