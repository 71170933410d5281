"""File contents, addressed by SHA-256, on any fsspec filesystem."""
