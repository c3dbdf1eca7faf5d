"""Acoustic surrogate: plate-cavity design → J (quiet), f1 (tune) and the L_p,avg curve on the env's band.

An ensemble of networks (one trunk each, three heads: J, ln f1 and the leading principal
components of the L_p,avg curve; each an MLP or a :class:`MassSetNet`, which reads the point
masses as a set) reads the design's columns (material one-hot, thickness, lx, ly, lz, mass
positions and masses) together with physics features: the in-vacuo plate frequencies of the four
lowest modes, each also lowered by the point masses' modal loading (Rayleigh quotient
f/√(1 + Σ M_p φ²/M_s)), the three lowest rigid-cavity frequencies, the plate-on-air-spring
frequency √(ρ0c²/(lz·m″))/2π, the mass ratios, and the drive point's view of the masses (see
:func:`drive_point_features`). The ensemble mean is the answer and the spread an uncertainty the
search can use.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy import special
from scipy.stats import spearmanr
from torch import nn

from analytic import acoustic
from envs.plate_cavity import CavityGrid, PlateCavityConfig

from ._datasets import Dataset, acoustic_config, env_settings
from ._training import FitResult, Standardiser, fit, mlp, split

_MODES = ((1, 1), (2, 1), (1, 2), (2, 2))
_PCA = 32  # principal components of the L_p,avg curve
_CURVE_WEIGHT = 0.1  # of the curve loss (dB² summed over components) against the J and ln f1 terms
_WEIGHT_DECAY = 0.05  # AdamW
_FIXED = ("plate_loss", "air_density", "air_speed", "air_loss")
_DRIVE_POINTS = 8  # frequencies of the drive-point features, geometric over the band
FEATURES = 2
"""Version of :func:`acoustic_features`, stored in checkpoints (1: without the drive-point features)."""


def _materials(settings: dict[str, Any]) -> tuple[acoustic.Material, ...]:
    return tuple(acoustic.MATERIALS[name] for name in settings["materials"])


def acoustic_features(columns: np.ndarray, material: np.ndarray, config: PlateCavityConfig) -> np.ndarray:
    """(n, d) ``CavityGrid.columns`` values and (n,) material indices → (n, k) float64 raw features."""
    mats = [acoustic.MATERIALS[name] for name in config.materials]
    youngs = np.array([m.youngs_modulus for m in mats])[material]
    poisson = np.array([m.poisson for m in mats])[material]
    density, h, lx, ly, lz = (columns[:, i] for i in range(5))
    masses = columns[:, 5:].reshape(len(columns), -1, 3)
    surface = density * h
    stiffness = youngs * h**3 / (12.0 * (1.0 - poisson**2))
    modal_mass = surface * lx * ly / 4.0
    rho0, c = config.air_density, config.air_speed
    feats = [np.eye(len(mats))[material], np.log(columns[:, 1:5])]
    feats.append(masses.reshape(len(columns), -1))
    added = masses[:, :, 2].sum(axis=1)
    for a, b in _MODES:
        f = 0.5 * math.pi * np.sqrt(stiffness / surface) * ((a / lx) ** 2 + (b / ly) ** 2)
        phi = np.sin(a * math.pi * masses[:, :, 0]) * np.sin(b * math.pi * masses[:, :, 1])
        loading = (masses[:, :, 2] * phi**2).sum(axis=1) / modal_mass
        feats += [np.log(f)[:, None], np.log(f / np.sqrt(1.0 + loading))[:, None], loading[:, None]]
    cavity = np.sort(np.stack([c / (2 * lx), c / (2 * ly), c / (2 * lz)], axis=1), axis=1)
    spring = np.sqrt(rho0 * c**2 / (lz * surface)) / (2 * math.pi)
    plate_mass = surface * lx * ly
    feats += [np.log(cavity), np.log(spring)[:, None], np.log(surface)[:, None], np.log(stiffness)[:, None]]
    feats += [(added / plate_mass)[:, None], np.log(plate_mass + added)[:, None]]
    feats.append(drive_point_features(columns, youngs, poisson, config))
    return np.concatenate(feats, axis=1)


def drive_point_features(
    columns: np.ndarray, youngs: np.ndarray, poisson: np.ndarray, config: PlateCavityConfig
) -> np.ndarray:
    """How the point masses load the point force, on an infinite plate: (n, 2·8 + 2·n_masses) float64.

    A mass next to the force blocks it (its impedance jωM dwarfs the plate's 8√(D·m″) above a few
    tens of Hz), so the power put into the plate, and with it the level in the cavity, hinges on
    the distance from each mass to the force in bending wavelengths. The infinite Kirchhoff plate
    gives that dependence in closed form: the point mobility between points r apart is
    Y(r) = Y₀·g(kr), Y₀ = 1/(8√(D·m″)), g(x) = H₀⁽²⁾(x) − (2i/π)·K₀(x) (g(0) = 1), k⁴ = ω²m″/D.
    With each mass reacting on its own (single scattering), the drive-point mobility is
    Y_F/Y₀ = 1 − Σ_p z_p·g(k·r_p)²/(1 + z_p), z_p = iωM_p·Y₀.

    Columns: ln|Y_F/Y₀| and Re(Y_F/Y₀) at 8 frequencies geometric over the band; then, masses
    ordered by distance to the force (then by mass), ln(k·r_p + 10⁻³) and ln(1 + ωM_p·Y₀) at the band centre.

    Args:
        columns: (n, d) ``CavityGrid.columns`` values (density kg/m³, thickness, lx, ly, lz m,
            per mass x/lx, y/ly, kg).
        youngs, poisson: (n,) Young's modulus (Pa) and Poisson ratio of each design's plate.
        config: the env settings (force position, band).
    """
    surface = columns[:, 0] * columns[:, 1]
    stiffness = youngs * columns[:, 1] ** 3 / (12.0 * (1.0 - poisson**2))
    lx, ly = columns[:, 2:3], columns[:, 3:4]
    masses = columns[:, 5:].reshape(len(columns), -1, 3)
    fx, fy = config.force_position
    distance = np.hypot((masses[:, :, 0] - fx) * lx, (masses[:, :, 1] - fy) * ly)  # (n, n_masses), m
    y0 = 1.0 / (8.0 * np.sqrt(stiffness * surface))
    omega = 2.0 * math.pi * np.geomspace(*config.band, _DRIVE_POINTS)  # (n_f,) rad/s
    # k·r of every design, frequency and mass, (n, n_f, n_masses); k ∝ √ω
    x = np.maximum(
        (surface / stiffness)[:, None, None] ** 0.25 * np.sqrt(omega)[None, :, None] * distance[:, None], 1e-12
    )
    # g = a − i·b, z = i·c: z·g²/(1 + z) = (c² + i·c)(a² − b² − 2i·ab)/(1 + c²), in real arithmetic
    a, b = special.j0(x), special.y0(x) + 2.0 / math.pi * special.k0(x)
    c = omega[None, :, None] * (masses[:, :, 2] * y0[:, None])[:, None, :]
    scale = c / (1.0 + c * c)
    re_g2, im_g2 = a * a - b * b, -2.0 * a * b
    real = 1.0 - (scale * (c * re_g2 - im_g2)).sum(axis=2)  # (n, n_f)
    imag = -(scale * (c * im_g2 + re_g2)).sum(axis=2)
    # |Y_F| > 0 for any real layout; the floor only keeps the logarithm finite
    log_mag = 0.5 * np.log(np.maximum(real * real + imag * imag, 1e-24))
    feats = [np.stack([log_mag, real], axis=2).reshape(len(columns), -1)]
    centre = 2.0 * math.pi * 0.5 * (config.band[0] + config.band[1])
    order = np.lexsort((masses[:, :, 2], distance), axis=1)  # by distance, ties by mass: independent of mass order
    near = np.take_along_axis(distance, order, axis=1)
    mass = np.take_along_axis(masses[:, :, 2], order, axis=1)
    wavenumber = (centre**2 * surface / stiffness) ** 0.25
    feats += [np.log(wavenumber[:, None] * near + 1e-3), np.log1p(centre * mass * y0[:, None])]
    return np.concatenate(feats, axis=1)


ARCHITECTURES = ("mlp", "sets")
"""Ensemble member kinds: ``"mlp"`` (one MLP over every feature) and ``"sets"`` (:class:`MassSetNet`)."""


def check_architecture(architecture: str) -> None:
    """Raise a ValueError naming ``architecture`` unless it is one of :data:`ARCHITECTURES`."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}; got architecture={architecture!r}")


class MassSetNet(nn.Module):
    """One member that reads the point masses as a set (Deep Sets): exactly invariant to their order.

    Each mass's own standardised (x/lx, y/ly, kg) columns, next to every feature that does not
    depend on the order of the masses, go through one shared encoder (two hidden SiLU layers of
    ``set_width``); the encodings are summed over the masses and, with the order-free features,
    feed an MLP of ``depth`` × ``width``. Input (n, n_features) standardised features (the mass
    columns at ``slots``), output (n, n_out).
    """

    def __init__(
        self, n_features: int, n_out: int, width: int, depth: int, slots: slice, n_masses: int, set_width: int = 64
    ) -> None:
        super().__init__()
        self.slots, self.n_masses = slots, n_masses
        n_free = n_features - 3 * n_masses
        self.encoder = nn.Sequential(
            nn.Linear(n_free + 3, set_width),
            nn.SiLU(),
            nn.Linear(set_width, set_width),
            nn.SiLU(),
            nn.Linear(set_width, set_width),
        )
        self.head = mlp(n_free + set_width, n_out, width, depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        free = torch.cat([x[:, : self.slots.start], x[:, self.slots.stop :]], dim=1)
        masses = x[:, self.slots].reshape(len(x), self.n_masses, 3)
        inputs = torch.cat([free[:, None, :].expand(-1, self.n_masses, -1), masses], dim=2)
        return self.head(torch.cat([free, self.encoder(inputs).sum(dim=1)], dim=1))


class AcousticNet(nn.Module):
    """An ensemble of MLPs or :class:`MassSetNet` members; ``forward`` gives (members, n, 2 + n_pca) standardised outputs.

    ``slots`` and ``n_masses`` (the mass columns of the features) are needed by ``"sets"`` members only.
    """

    def __init__(
        self,
        n_features: int,
        n_out: int,
        width: int,
        depth: int,
        members: int,
        architecture: str = "mlp",
        slots: slice | None = None,
        n_masses: int = 0,
    ) -> None:
        super().__init__()
        check_architecture(architecture)
        if architecture == "sets" and (slots is None or n_masses < 1):
            raise ValueError(f"a 'sets' member needs the mass columns and n_masses >= 1; got n_masses={n_masses}")

        def member() -> nn.Module:
            if architecture == "mlp":
                return mlp(n_features, n_out, width, depth)
            return MassSetNet(n_features, n_out, width, depth, slots, n_masses)  # type: ignore[arg-type]

        self.members = nn.ModuleList(member() for _ in range(members))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members])


class _OneMember(nn.Module):
    """One member of an ensemble as a one-member ensemble (its weights shared, not copied)."""

    def __init__(self, member: nn.Module) -> None:
        super().__init__()
        self.member = member

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.member(x)[None]


def _loss(member: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    x, y = batch
    err = (member(x) - y) ** 2
    return err[:, :2].sum(-1).mean() + _CURVE_WEIGHT * err[:, 2:].sum(-1).mean()


def _mass_slots(config: PlateCavityConfig) -> slice:
    """Feature columns of the masses' (x/lx, y/ly, kg) triples, in mass order (see :func:`acoustic_features`)."""
    start = len(config.materials) + 4
    return slice(start, start + 3 * config.n_masses)


class _ShuffledMasses:
    """The training loss with the point masses of every training sample put in a random order.

    The masses are interchangeable, so every order is the same design; only the masses' own
    feature columns depend on the order (every other feature is a sum over the masses or sorts
    them), and they share one normalisation, so shuffling those columns gives the features of
    the reordered design. Validation batches (the member in eval mode) are left as they are.
    """

    def __init__(self, slots: slice, n_masses: int, seed: int) -> None:
        self.slots, self.n_masses = slots, n_masses
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, member: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, y = batch
        if member.training and self.n_masses > 1:
            order = torch.rand(len(x), self.n_masses, generator=self.generator).argsort(dim=1)
            block = x[:, self.slots].reshape(len(x), self.n_masses, 3)
            x = x.clone()
            x[:, self.slots] = torch.gather(block, 1, order[:, :, None].expand(-1, -1, 3)).reshape(len(x), -1)
        return _loss(member, (x, y))


class AcousticSurrogate:
    """A trained plate-cavity surrogate with the physics-model protocol of the plate-cavity env.

    ``acoustic.band_level(batch, freqs, n_plate, n_transverse)`` → (n,) J in dB and
    ``first_coupled_frequency(batch, n_plate, n_transverse)`` → (n,) f1 in Hz. Designs outside
    the training box (a material not trained, a column outside its grid range, over the mass
    budget) are evaluated by the Numba model and counted in ``physics_evaluations``.

    Attributes:
        metadata: checkpoint metadata (version, env settings, band grid, bounds, normalisation,
            network settings, training record).
        net: the ensemble (eval mode).
        surrogate_evaluations, physics_evaluations, out_of_bounds: design counts so far.
    """

    kind = "acoustic"

    def __init__(self, metadata: dict[str, Any], net: AcousticNet | _OneMember) -> None:
        version = metadata.get("feature_version", 1)
        if version != FEATURES:
            raise ValueError(
                f"acoustic surrogate checkpoint: feature_version must be {FEATURES}; got feature_version={version!r} "
                "(made before the drive-point features; retrain it with `workbench surrogate train acoustic`)"
            )
        self.metadata = metadata
        self.net = net.eval()
        self.config = acoustic_config(metadata["env"])
        self.grid = CavityGrid(self.config)
        self.features = Standardiser.from_dict(metadata["features"])
        self.outputs = Standardiser.from_dict(metadata["outputs"])
        self.components = np.asarray(metadata["pca"]["components"], float)
        self.curve_mean = np.asarray(metadata["pca"]["mean"], float)
        self.freqs = np.asarray(metadata["freqs"], float)
        self.low = np.asarray(metadata["bounds"]["low"], float)
        self.high = np.asarray(metadata["bounds"]["high"], float)
        self.surrogate_evaluations = 0
        self.physics_evaluations = 0
        self.out_of_bounds = 0

    def fit(
        self,
        dataset: Dataset,
        epochs: int,
        batch_size: int = 128,
        lr: float = 2e-3,
        seed: int = 0,
        time_budget_s: float | None = None,
        progress: bool = False,
    ) -> list[FitResult]:
        """Train every member on ``dataset`` (10 % held out; member k shuffles with seed + k), fixed normalisation.

        AdamW (weight decay 0.05) on the standardised J and ln f1 errors plus 0.1 × the curve's.

        Each training batch lists its point masses in a fresh random order (the design is the same).

        ``time_budget_s`` (if given) is split evenly between members; see :func:`fit`.

        Raises:
            ValueError: this is a :meth:`member` view (train the ensemble instead).
        """
        if not isinstance(self.net, AcousticNet):
            raise ValueError("a member view of an ensemble is not trainable; fit the ensemble it came from")
        raw = acoustic_features(dataset.designs, dataset.index[:, 0], self.config)
        x = torch.as_tensor(self.features(raw), dtype=torch.float32)
        t = torch.as_tensor(self.outputs(_outputs(dataset, self.components, self.curve_mean)), dtype=torch.float32)
        train_rows, val_rows = split(len(dataset), 0.1, seed)
        budget = None if time_budget_s is None else time_budget_s / len(self.net.members)
        results = [
            fit(
                member,
                _ShuffledMasses(_mass_slots(self.config), self.config.n_masses, seed + k),
                (x[train_rows], t[train_rows]),
                (x[val_rows], t[val_rows]),
                epochs,
                batch_size,
                lr,
                seed + k,
                budget,
                progress,
                _WEIGHT_DECAY,
            )
            for k, member in enumerate(self.net.members)
        ]
        self.net.eval()
        return results

    @property
    def members(self) -> int:
        """Ensemble members (1 for a :meth:`member` view)."""
        return len(self.net.members) if isinstance(self.net, AcousticNet) else 1

    def member(self, k: int) -> AcousticSurrogate:
        """Member ``k`` alone, with the same protocol and checks (weights shared; own counters; not trainable).

        The search scores a design by the spread of the members' objectives (see
        :func:`workbench.surrogates.surrogate_search`).
        """
        if not (isinstance(self.net, AcousticNet) and 0 <= k < len(self.net.members)):
            raise ValueError(f"k must be in [0, {self.members - 1}] for this ensemble; got k={k!r}")
        return AcousticSurrogate(self.metadata, _OneMember(self.net.members[k]))

    # ------------------------------------------------------------------ checks
    def check(self, config: PlateCavityConfig) -> None:
        """Refuse an env config whose settings disagree with the checkpoint's.

        Every key that shapes the design space or the physics is compared: materials, grids,
        masses, budget, force, losses, air, band, grid density, mode counts and mode margin.

        Raises:
            ValueError: naming the field, the checkpoint's value and the env's value.
        """
        env = env_settings(config)
        mine = self.metadata["env"]
        ignore = {"objective", "target_frequency", "tune_away", "observe_objective", "reward_scale", "start"}
        ignore |= {"cache_size", "max_steps_per_action", "move_steps"}
        for name in sorted(set(mine) - ignore):
            if env.get(name) != mine[name]:
                raise ValueError(
                    f"surrogate checkpoint disagrees with the env on {name}: checkpoint {name}={mine[name]!r}, "
                    f"env {name}={env.get(name, '(no such setting)')!r}"
                )

    def _check_call(self, batch: acoustic.CavityBatch, n_plate: int, n_transverse: int) -> None:
        cfg = self.config
        for name, value in (("n_plate", n_plate), ("n_transverse", n_transverse)):
            if value != getattr(cfg, name):
                raise ValueError(
                    f"surrogate checkpoint disagrees with the call on {name}: checkpoint {name}={getattr(cfg, name)}, "
                    f"call {name}={value}"
                )
        if not isinstance(batch, acoustic.CavityBatch) or batch.dim != 3:
            raise ValueError(f"batch must be a 3D acoustic.CavityBatch; got {batch!r}")
        fixed = {name: getattr(cfg, name) for name in _FIXED} | {"force": cfg.force}
        for name, expected in fixed.items():
            values = getattr(batch, name)
            if not np.allclose(values, expected, rtol=1e-12, atol=0):
                raise ValueError(
                    f"surrogate checkpoint disagrees with the batch on {name}: checkpoint {name}={expected!r}, "
                    f"batch {name}={values[~np.isclose(values, expected, rtol=1e-12, atol=0)][0]!r}"
                )
        fraction = batch.force_position / batch.size[:, :2]
        if not np.allclose(fraction, cfg.force_position, rtol=1e-9):
            raise ValueError(
                f"surrogate checkpoint disagrees with the batch on force_position: checkpoint "
                f"force_position={cfg.force_position!r} (fractions of lx, ly), batch force_position="
                f"{tuple(fraction[0])!r}"
            )
        if np.any(batch.plane_wave != 0) or batch.mass.shape[1] != cfg.n_masses:
            raise ValueError(
                f"surrogate checkpoint disagrees with the batch on n_masses: checkpoint n_masses={cfg.n_masses} and no "
                f"plane wave, batch n_masses={batch.mass.shape[1]}"
            )

    def _check_freqs(self, freqs: np.ndarray) -> None:
        freqs = np.asarray(freqs, float)
        if freqs.shape != self.freqs.shape or not np.allclose(freqs, self.freqs, rtol=1e-12):
            raise ValueError(
                f"surrogate checkpoint disagrees with the call on band: checkpoint band grid of {len(self.freqs)} "
                f"points {self.freqs[0]:g}–{self.freqs[-1]:g} Hz, call freqs of shape {freqs.shape}"
                + (f" {freqs.min():g}–{freqs.max():g} Hz" if freqs.size else "")
            )

    # ------------------------------------------------------------------ columns and bounds
    def columns(self, batch: acoustic.CavityBatch) -> tuple[np.ndarray, np.ndarray]:
        """(n, d) ``CavityGrid.columns`` values of a batch and (n,) material indices (−1: not a trained material)."""
        material = np.full(len(batch), -1)
        for k, m in enumerate(self.grid.materials):
            same = (
                np.isclose(batch.youngs_modulus, m.youngs_modulus, rtol=1e-12)
                & np.isclose(batch.density, m.density, rtol=1e-12)
                & np.isclose(batch.poisson, m.poisson, rtol=1e-12)
            )
            material[same] = k
        size = batch.size
        fractions = batch.mass_position / size[:, None, :2]
        masses = np.concatenate([fractions, batch.mass[:, :, None]], axis=2).reshape(len(batch), -1)
        columns = np.concatenate([batch.density[:, None], batch.thickness[:, None], size, masses], axis=1)
        return columns, material

    def design_columns(self, batch: acoustic.CavityBatch) -> np.ndarray:
        """(n, d) ``CavityGrid.columns`` values of a batch (the first column: plate density, kg/m³)."""
        return self.columns(batch)[0]

    def inside(self, columns: np.ndarray, material: np.ndarray) -> np.ndarray:
        """(n,) bool: trained material, every column inside the training box (1e-9 relative), within the budget."""
        tol = 1e-9 * np.maximum(np.abs(self.high), 1e-12)
        box = np.all((columns >= self.low - tol) & (columns <= self.high + tol), axis=1)
        total = columns[:, 0] * columns[:, 1] * columns[:, 2] * columns[:, 3] + columns[:, 7::3].sum(axis=1)
        return (material >= 0) & box & (total <= self.grid.budget * (1 + 1e-9))

    # ------------------------------------------------------------------ predictions
    def predict(self, columns: np.ndarray, material: np.ndarray, curve: bool = True) -> dict[str, np.ndarray]:
        """Network answers for designs inside the box: ``j``, ``f1``, ``lp_avg`` (if ``curve``) and the ensemble spreads."""
        x = torch.as_tensor(self.features(acoustic_features(columns, material, self.config)), dtype=torch.float32)
        with torch.no_grad():
            out = self.net(x).double().numpy() * self.outputs.std + self.outputs.mean
        mean, spread = out.mean(axis=0), out.std(axis=0)
        answers = {"j": mean[:, 0], "j_std": spread[:, 0], "f1": np.exp(mean[:, 1]), "f1_rel_std": spread[:, 1]}
        if curve:  # (n, n_freq): the costliest answer, left out when only J or f1 is asked for
            answers["lp_avg"] = self.curve_mean + mean[:, 2:] @ self.components
        return answers

    def _answer(self, batch: acoustic.CavityBatch, key: str, physics: Any) -> np.ndarray:
        columns, material = self.columns(batch)
        inside = self.inside(columns, material)
        self.out_of_bounds += int((~inside).sum())
        result = np.zeros(len(batch)) if key != "lp_avg" else np.zeros((len(batch), len(self.freqs)))
        if inside.any():
            result[inside] = self.predict(columns[inside], material[inside], curve=key == "lp_avg")[key]
            self.surrogate_evaluations += int(inside.sum())
        if (~inside).any():
            rows = np.flatnonzero(~inside)
            result[rows] = physics(_take(batch, rows))
            self.physics_evaluations += len(rows)
        return result

    def band_level(self, batch: acoustic.CavityBatch, freqs: np.ndarray, n_plate: int, n_transverse: int) -> np.ndarray:
        """(n_design,) J, dB: the band average of L_p,avg over ``freqs`` (must be the checkpoint's band grid)."""
        self._check_call(batch, n_plate, n_transverse)
        self._check_freqs(freqs)
        return self._answer(
            batch, "j", lambda b: acoustic.band_level(acoustic.responses(b, self.freqs, n_plate, n_transverse))
        )

    def first_coupled_frequency(self, batch: acoustic.CavityBatch, n_plate: int, n_transverse: int) -> np.ndarray:
        """(n_design,) f1, Hz: the first coupled natural frequency."""
        self._check_call(batch, n_plate, n_transverse)
        return self._answer(batch, "f1", lambda b: acoustic.first_coupled_frequencies(b, n_plate, n_transverse))

    def lp_avg(self, batch: acoustic.CavityBatch, n_plate: int, n_transverse: int) -> np.ndarray:
        """(n_design, n_freq) L_p,avg on the checkpoint's band grid, dB re 20 µPa."""
        self._check_call(batch, n_plate, n_transverse)
        return self._answer(batch, "lp_avg", lambda b: acoustic.responses(b, self.freqs, n_plate, n_transverse).lp_avg)


def _take(batch: acoustic.CavityBatch, rows: np.ndarray) -> acoustic.CavityBatch:
    """The designs ``rows`` of a batch."""
    return acoustic.CavityBatch(
        size=batch.size[rows],
        thickness=batch.thickness[rows],
        youngs_modulus=batch.youngs_modulus[rows],
        density=batch.density[rows],
        poisson=batch.poisson[rows],
        force=batch.force[rows],
        force_position=batch.force_position[rows],
        plate_loss=batch.plate_loss[rows],
        air_density=batch.air_density[rows],
        air_speed=batch.air_speed[rows],
        air_loss=batch.air_loss[rows],
        plane_wave=batch.plane_wave[rows],
        mass=batch.mass[rows],
        mass_position=batch.mass_position[rows],
    )


def _outputs(dataset: Dataset, components: np.ndarray, curve_mean: np.ndarray) -> np.ndarray:
    lp = dataset.responses["lp_avg"]
    coef = (lp - curve_mean) @ components.T
    return np.concatenate([dataset.responses["j"][:, None], np.log(dataset.responses["f1"])[:, None], coef], axis=1)


def build_acoustic(
    dataset: Dataset, width: int, depth: int, members: int, seed: int, architecture: str = "mlp"
) -> AcousticSurrogate:
    """An untrained ensemble (members of ``architecture``, see :data:`ARCHITECTURES`) fitted to ``dataset``'s scales.

    Its normalisation, curve components and metadata come from ``dataset``.

    The principal components of L_p,avg and every normalisation are fitted on the training part
    of the 90/10 split of ``seed``, which :meth:`AcousticSurrogate.fit` uses too.
    """
    if dataset.kind != "acoustic":
        raise ValueError(f"dataset kind must be 'acoustic'; got {dataset.kind!r}")
    if members < 1:
        raise ValueError(f"members must be >= 1; got members={members}")
    check_architecture(architecture)
    config = acoustic_config(dataset.attrs["env"])
    grid = CavityGrid(config)
    raw = acoustic_features(dataset.designs, dataset.index[:, 0], config)
    features = _tied_masses(Standardiser.fit(raw), _mass_slots(config), config.n_masses)
    train_rows, _ = split(len(dataset), 0.1, seed)
    lp = dataset.responses["lp_avg"][train_rows]
    curve_mean = lp.mean(axis=0)
    _, _, vt = np.linalg.svd(lp - curve_mean, full_matrices=False)
    components = vt[: min(_PCA, len(vt))]
    y_train = _outputs(dataset, components, curve_mean)[train_rows]
    # one scale for every principal component, so the loss weighs the curve error in dB², not per component
    scale = np.concatenate([y_train[:, :2].std(axis=0), np.full(len(components), _curve_scale(y_train))])
    outputs = Standardiser(np.concatenate([y_train[:, :2].mean(axis=0), np.zeros(len(components))]), scale)
    torch.manual_seed(seed)
    net = AcousticNet(
        raw.shape[1], 2 + len(components), width, depth, members, architecture, _mass_slots(config), config.n_masses
    )
    metadata = {
        "kind": "acoustic",
        "format": 1,
        "feature_version": FEATURES,
        "workbench_version": dataset.attrs["workbench_version"],
        "band": dataset.attrs["band"],
        "freqs": dataset.freqs.tolist(),
        "env": dataset.attrs["env"],
        "model": dataset.attrs["model"],
        "bounds": {
            "low": grid.columns(grid.low).tolist(),
            "high": grid.columns(grid.high).tolist(),
            "columns": dataset.attrs["model"]["columns"],
        },
        "features": features.to_dict(),
        "outputs": outputs.to_dict(),
        "pca": {"mean": curve_mean.tolist(), "components": components.tolist()},
        "network": {"width": width, "depth": depth, "members": members, "architecture": architecture},
    }
    return AcousticSurrogate(metadata, net)


def train_acoustic(
    dataset: Dataset,
    width: int = 256,
    depth: int = 3,
    members: int = 3,
    epochs: int = 300,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    time_budget_s: float | None = None,
    progress: bool = False,
    architecture: str = "mlp",
) -> AcousticSurrogate:
    """Train an ensemble of ``members`` networks (``architecture``: ``"mlp"`` or ``"sets"``) on ``dataset``, 10 % held out.

    ``dataset`` is of kind ``"acoustic"``; ``time_budget_s`` (if given) is split evenly between
    members; see :func:`fit`.
    """
    surrogate = build_acoustic(dataset, width, depth, members, seed, architecture)
    records = surrogate.fit(dataset, epochs, batch_size, lr, seed, time_budget_s, progress)
    surrogate.metadata["training"] = {
        "designs": len(dataset),
        "dataset_seed": dataset.attrs["seed"],
        "seed": seed,
        "batch_size": batch_size,
        "lr": lr,
        "weight_decay": _WEIGHT_DECAY,
        "curve_weight": _CURVE_WEIGHT,
        "epochs": epochs,
        "time_budget_s": time_budget_s,
        "torch_threads": torch.get_num_threads(),
        "members": [{"epochs": r.epochs, "best_epoch": r.best_epoch, "seconds": round(r.seconds, 1)} for r in records],
    }
    return surrogate


def _tied_masses(features: Standardiser, slots: slice, n_masses: int) -> Standardiser:
    """``features`` with one mean and standard deviation per mass coordinate (x/lx, y/ly, kg), shared by the masses.

    The masses' columns are drawn alike, so the per-column statistics differ only by sampling;
    averaging them makes the normalised features of two orderings of the masses permutations
    of each other (what :class:`_ShuffledMasses` relies on).
    """
    if n_masses == 0:
        return features
    mean, std = features.mean.copy(), features.std.copy()
    mean[slots] = np.tile(mean[slots].reshape(n_masses, 3).mean(axis=0), n_masses)
    std[slots] = np.tile(np.sqrt((std[slots].reshape(n_masses, 3) ** 2).mean(axis=0)), n_masses)
    return Standardiser(mean, std)


def _curve_scale(y: np.ndarray) -> float:
    """RMS of the principal-component coefficients per component (one scale for all, > 0)."""
    return float(max(np.sqrt(np.mean(y[:, 2:] ** 2)), 1e-9))


def evaluate_acoustic(surrogate: AcousticSurrogate, dataset: Dataset) -> dict[str, Any]:
    """Accuracy of ``surrogate`` on held-out ``dataset`` designs.

    Returns:
        ``j_mae_db``, ``j_p95_db`` (absolute J error, dB), ``spearman`` (rank correlation of
        predicted and true J), ``f1_rel_error_median``/``_p95``, ``lp_avg_rmse_db`` (curve RMS
        error over designs and band points), and the mean ensemble spread of J.
    """
    if not np.allclose(dataset.freqs, surrogate.freqs, rtol=1e-12):
        raise ValueError("dataset frequencies differ from the surrogate's band grid")
    pred = surrogate.predict(dataset.designs, dataset.index[:, 0])
    j_err = np.abs(pred["j"] - dataset.responses["j"])
    f1_err = np.abs(pred["f1"] / dataset.responses["f1"] - 1.0)
    curve = np.sqrt(np.mean((pred["lp_avg"] - dataset.responses["lp_avg"]) ** 2))
    return {
        "designs": len(dataset),
        "j_mae_db": float(j_err.mean()),
        "j_p95_db": float(np.percentile(j_err, 95)),
        "spearman": float(spearmanr(pred["j"], dataset.responses["j"]).statistic),
        "f1_rel_error_median": float(np.median(f1_err)),
        "f1_rel_error_p95": float(np.percentile(f1_err, 95)),
        "lp_avg_rmse_db": float(curve),
        "j_ensemble_std_mean_db": float(pred["j_std"].mean()),
    }
