"""Surrogate checkpoints: weights plus JSON metadata in one ``torch.save`` file, and :func:`load`."""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs.nanogap import NanogapConfig
from envs.plate_cavity import PlateCavityConfig

from ._acoustic import AcousticNet, AcousticSurrogate, _mass_slots
from ._datasets import K_PERIODS, KINDS, acoustic_config
from ._thz import ThzNet, ThzSurrogate

FORMAT = 1
"""Checkpoint format version written by :func:`save`."""

Surrogate = ThzSurrogate | AcousticSurrogate


def default_path(kind: str) -> Path:
    """Path of the checkpoint shipped with the package for ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got kind={kind!r}")
    return Path(str(resources.files("workbench.surrogates") / "checkpoints" / f"{kind}.pt"))


def save(surrogate: Surrogate, path: str | Path) -> Path:
    """Write weights (float32) and metadata (JSON, no NaN) of ``surrogate`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = dict(surrogate.metadata, format=FORMAT)
    state = {k: v.detach().to(torch.float32).contiguous() for k, v in surrogate.net.state_dict().items()}
    torch.save({"metadata": json.dumps(metadata, allow_nan=False, sort_keys=True), "state": state}, path)
    return path


def _rebuild(metadata: dict[str, Any]) -> Surrogate:
    network = metadata["network"]
    n_features = len(metadata["features"]["mean"])
    if metadata["kind"] == "thz":
        net = ThzNet(n_features, np.asarray(metadata["freqs"]), network["head"], network["width"], network["depth"])
        return ThzSurrogate(metadata, net)
    n_out = 2 + len(metadata["pca"]["components"])
    config = acoustic_config(metadata["env"])
    net = AcousticNet(
        n_features,
        n_out,
        network["width"],
        network["depth"],
        network["members"],
        network.get("architecture", "mlp"),  # checkpoints written before the choice hold MLPs
        _mass_slots(config),
        config.n_masses,
    )
    return AcousticSurrogate(metadata, net)


def load(
    kind: str,
    path: str | Path | None = None,
    env: Mapping[str, Any] | NanogapConfig | PlateCavityConfig | None = None,
) -> Surrogate:
    """Load a surrogate that env cores accept as ``model=``.

    Args:
        kind: ``"thz"`` (returns a :class:`ThzSurrogate`, protocol ``spectra(batch, freqs)``) or
            ``"acoustic"`` (:class:`AcousticSurrogate`, protocol ``band_level`` and
            ``first_coupled_frequency``).
        path: checkpoint file; None loads the default checkpoint shipped with the package.
        env: an env config (mapping or config object) to check the checkpoint against.

    Raises:
        ValueError: a missing or unreadable file, a checkpoint of another kind or format, model
            settings other than the env's (K of the THz lattice sum), or an ``env`` whose settings
            disagree with the checkpoint's metadata (the message names the field and both values).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got kind={kind!r}")
    file = default_path(kind) if path is None else Path(path)
    if not file.is_file():
        raise ValueError(f"surrogate checkpoint {file} does not exist")
    try:
        blob = torch.load(file, map_location="cpu", weights_only=True)
        compressed = "layers" in blob
        metadata = {} if compressed else json.loads(blob["metadata"])
        state = {} if compressed else blob["state"]
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as error:
        raise ValueError(f"surrogate checkpoint {file} is not a readable checkpoint: {error}") from None
    if compressed:  # written by workbench.compress.save_surrogate
        from ..compress import load_surrogate

        return load_surrogate(kind, file, env=env)
    if metadata.get("format") != FORMAT:
        raise ValueError(f"surrogate checkpoint {file}: format must be {FORMAT}; got format={metadata.get('format')!r}")
    if metadata.get("kind") != kind:
        raise ValueError(f"surrogate checkpoint {file} holds kind={metadata.get('kind')!r}; asked for kind={kind!r}")
    if kind == "thz" and metadata["model"].get("k_periods") != K_PERIODS:
        raise ValueError(
            f"surrogate checkpoint disagrees with the env on k_periods: checkpoint k_periods="
            f"{metadata['model'].get('k_periods')!r}, env k_periods={K_PERIODS!r}"
        )
    surrogate = _rebuild(metadata)
    surrogate.net.load_state_dict(state)
    surrogate.net.eval()
    if env is not None:
        config_class = NanogapConfig if kind == "thz" else PlateCavityConfig
        surrogate.check(config_class.from_mapping(env))
    return surrogate
