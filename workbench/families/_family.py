"""The record of one physics family and the registry the search, sweeps and CLI read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ModelFactory = Callable[[dict[str, Any], "str | None"], Any]
"""``(env_config, path) → model``: builds a model honouring the family's protocol in ``analytic``."""


@dataclass(frozen=True)
class Family:
    """What a search needs to know about one physics family (``SearchConfig.kind``).

    The family's env cores must offer what the agents use: ``core.grid`` (``low``, ``high``,
    ``sample_many``, ``repair``, ``design``), ``core.evaluate`` (evaluations with ``potential``),
    ``core.state()``/``core.restore()`` and ``best_value``, ``best_index``, ``best_design``,
    ``evaluations``, ``cache_hits``.

    Attributes:
        env_ids: registered ids of the discrete-action and the continuous-action env.
        default_target: Hz, the target frequency when the config leaves it out.
        default_objective: the env objective when the config leaves it out.
        validate: env config mapping → the env's design grid (``sizes``: grid points per
            parameter); raises ``ValueError`` for a mapping that no env would accept.
        report: ``(env_config, run_dir, best_design) → (best, spectrum)``: re-evaluates the best
            design with the reference path, writes the family's plot(s) into ``run_dir`` and
            returns the ``best.json`` entries and the best design's spectrum/response object.
        physics: ``env_config → model``: the family's analytic model (the envs' default ``model=``).
        models: other models by name (``"surrogate"``, say), added with :func:`register_model`.
        units: how people read a design or result key: ``key → (scale, unit)``, the shown
            number being value·scale (e.g. ``"gap": (1e9, "nm")``); keys not listed print as they are.
    """

    env_ids: tuple[str, str]
    default_target: float
    default_objective: str
    validate: Callable[[dict[str, Any]], Any]
    report: Callable[[dict[str, Any], Path, dict[str, Any]], tuple[dict[str, Any], Any]]
    physics: Callable[[dict[str, Any]], Any]
    models: dict[str, ModelFactory] = field(default_factory=dict)
    units: dict[str, tuple[float, str]] = field(default_factory=dict)

    def readable(self, key: str, value: Any) -> str:
        """``value`` of design or result ``key`` as a person reads it, e.g. ``5 nm``, ``0.2001 THz``."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return str(value)
        scale, unit = self.units.get(key, (1.0, ""))
        return f"{value * scale:.6g} {unit}".rstrip()

    def model(self, name: str, env_config: dict[str, Any], path: str | None = None) -> Any:
        """The model called ``name`` for ``env_config``: ``"physics"`` or a registered name.

        Raises:
            ValueError: an unknown name (the message lists the known ones).
        """
        if name == "physics":
            return self.physics(env_config)
        if name not in self.models:
            known = ", ".join(["physics", *self.models])
            raise ValueError(f"model must be one of {known}; got model={name!r}")
        return self.models[name](env_config, path)


FAMILIES: dict[str, Family] = {}
"""Physics families by ``SearchConfig.kind``."""


def register_family(kind: str, family: Family) -> None:
    """Make ``SearchConfig(kind=kind)`` search ``family``'s environments."""
    FAMILIES[kind] = family


def register_model(kind: str, name: str, factory: ModelFactory) -> None:
    """Offer ``factory`` as the model ``name`` of family ``kind`` (e.g. a surrogate package at import)."""
    if kind not in FAMILIES:
        raise ValueError(f"kind must be one of {', '.join(FAMILIES)}; got kind={kind!r}")
    if name == "physics":
        raise ValueError("model name 'physics' is the family's analytic model; choose another name")
    FAMILIES[kind].models[name] = factory
