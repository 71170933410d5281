"""Pieces every layer uses: settings, the error hierarchy, names and refs."""
