"""The `assay` command line: a thin Typer layer over the SDK (``assay.hub``)."""
