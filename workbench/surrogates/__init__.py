"""Learned surrogates of the physics models, verified by the physics inside the search loop.

- Datasets (:func:`make_dataset`, :func:`write_dataset`, :func:`read_dataset`): Sobol designs of
  an env's valid design space, responses of the Numba models, HDF5 files with provenance.
- THz (:class:`ThzSurrogate`): design → complex t(f), r(f) on a band (FE = |t|/β exactly);
  protocol ``spectra(batch, freqs) -> thz.Spectrum``.
- Acoustic (:class:`AcousticSurrogate`): design → J, f1 and the L_p,avg curve (an ensemble);
  protocol ``band_level(batch, freqs, n_plate, n_transverse)`` and
  ``first_coupled_frequency(batch, n_plate, n_transverse)``.
- :func:`load` reads a checkpoint (default: the one shipped with the package) that an env core
  accepts as ``model=``; designs outside the training box are answered by the Numba model.
"""

from ._acoustic import AcousticSurrogate, evaluate_acoustic, train_acoustic
from ._checkpoints import default_path, load, save
from ._datasets import KINDS, Dataset, make_dataset, read_dataset, sobol_indices, write_dataset
from ._thz import HEADS, ThzSurrogate, evaluate_thz, train_thz

__all__ = [
    "HEADS",
    "KINDS",
    "AcousticSurrogate",
    "Dataset",
    "ThzSurrogate",
    "default_path",
    "evaluate_acoustic",
    "evaluate_thz",
    "load",
    "make_dataset",
    "read_dataset",
    "save",
    "sobol_indices",
    "train_acoustic",
    "train_thz",
    "write_dataset",
]
