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
- :func:`surrogate_search` (:class:`ActiveConfig`): surrogate-assisted search on a physics budget;
  :func:`resume_surrogate_search` continues a killed one from its last round.

Importing this package registers the model ``"surrogate"`` of the ``thz`` and ``acoustic``
families (``workbench.families``) and does not import torch; the names below load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..families import register_model

_NAMES = {
    "KINDS": "_datasets",
    "Dataset": "_datasets",
    "make_dataset": "_datasets",
    "read_dataset": "_datasets",
    "sobol_indices": "_datasets",
    "write_dataset": "_datasets",
    "HEADS": "_thz",
    "ThzSurrogate": "_thz",
    "evaluate_thz": "_thz",
    "train_thz": "_thz",
    "AcousticSurrogate": "_acoustic",
    "evaluate_acoustic": "_acoustic",
    "train_acoustic": "_acoustic",
    "default_path": "_checkpoints",
    "load": "_checkpoints",
    "save": "_checkpoints",
    "ActiveConfig": "_active",
    "ActiveResult": "_active",
    "surrogate_search": "_active",
    "resume_surrogate_search": "_active",
}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _factory(kind: str) -> Any:
    def build(env_config: dict[str, Any], path: str | None = None) -> Any:
        """The surrogate checkpoint at ``path`` (default: shipped), checked against ``env_config``."""
        return importlib.import_module("._checkpoints", __name__).load(kind, path, env=env_config)

    return build


for _kind in ("thz", "acoustic"):
    register_model(_kind, "surrogate", _factory(_kind))

__all__ = sorted(_NAMES)
