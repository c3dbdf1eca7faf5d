"""Learned surrogates of the physics models: datasets (Sobol designs, Numba responses, HDF5 with provenance)."""

from ._datasets import KINDS, Dataset, make_dataset, read_dataset, sobol_indices, write_dataset

__all__ = ["KINDS", "Dataset", "make_dataset", "read_dataset", "sobol_indices", "write_dataset"]
