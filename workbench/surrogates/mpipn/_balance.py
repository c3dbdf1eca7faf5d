"""ReLoBRaLo: relative loss balancing with random lookback (Bischof & Kraus 2021, arXiv:2110.09813).

Each term's weight follows the softmax of its loss relative to an earlier value of the same term:

    λ̂_i(t; t′) = n · softmax_i( L_i(t) / (T · L_i(t′)) ),
    λ_i(t) = α·(ρ_t·λ_i(t−1) + (1 − ρ_t)·λ̂_i(t; 0)) + (1 − α)·λ̂_i(t; t−1),

ρ_t a Bernoulli draw ("random lookback" to the initial losses). A term that stalls while the others
fall gets more weight; the weights sum to n. Why this scheme here: it balances terms whose magnitudes
differ by orders (Helmholtz, interface, walls) from their progress alone, at the cost of a softmax per
step. Gradient-statistics schemes (learning-rate annealing, GradNorm) need a backward pass per term,
which would multiply the cost of the second derivatives on a CPU; SoftAdapt uses only the latest
change of each loss and reacts to its noise, which ReLoBRaLo damps with the history term α.
"""

from __future__ import annotations

import numpy as np


class ReLoBRaLo:
    """Adaptive weights of ``n`` loss terms.

    Args:
        n: number of terms, ≥ 1.
        alpha: history factor α in [0, 1].
        lookback: E[ρ], the probability of keeping the running weights (else they jump to λ̂(t; 0)).
        temperature: T > 0 of the softmax.
        seed: seed of the Bernoulli lookback draws.
    """

    def __init__(self, n: int, alpha: float = 0.99, lookback: float = 0.99, temperature: float = 0.1, seed: int = 0):
        if not (isinstance(n, int) and n >= 1):
            raise ValueError(f"n must be an integer >= 1; got n={n!r}")
        for name, value in (("alpha", alpha), ("lookback", lookback)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]; got {name}={value!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0; got temperature={temperature!r}")
        self.n, self.alpha, self.lookback, self.temperature = n, alpha, lookback, temperature
        self.rng = np.random.default_rng(seed)
        self.weights = np.ones(n)
        self.initial: np.ndarray | None = None
        self.previous: np.ndarray | None = None

    def _balance(self, losses: np.ndarray, reference: np.ndarray) -> np.ndarray:
        z = losses / (self.temperature * np.maximum(reference, 1e-30))
        z = np.exp(z - z.max())
        return self.n * z / z.sum()

    def update(self, losses: np.ndarray) -> np.ndarray:
        """Weights (n,) for the current loss values (n,) (positive, finite); the first call gives ones."""
        losses = np.asarray(losses, dtype=np.float64)
        if losses.shape != (self.n,) or not np.all(np.isfinite(losses) & (losses >= 0)):
            raise ValueError(f"losses must be {self.n} finite values >= 0; got losses={losses!r}")
        if self.initial is None or self.previous is None:
            self.initial = self.previous = losses
            return self.weights
        keep = float(self.rng.uniform() < self.lookback)
        self.weights = self.alpha * (keep * self.weights + (1.0 - keep) * self._balance(losses, self.initial)) + (
            1.0 - self.alpha
        ) * self._balance(losses, self.previous)
        self.previous = losses
        return self.weights
