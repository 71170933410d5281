"""The Python SDK: an HTTP client of the REST API, local (embedded) or remote."""
