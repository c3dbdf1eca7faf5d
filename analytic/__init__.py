"""Analytic physics models of the workbench (pure physics: NumPy reference + Numba kernels, SI units).

Subpackages:
    thz: zero-order transmission and field enhancement of THz nanogap-loop arrays.
"""
