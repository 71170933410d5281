"""Metric kernels: pure functions of arrays, proved equal to the reference libraries."""
