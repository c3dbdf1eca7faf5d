"""Double DQN on top of stable-baselines3's DQN (van Hasselt, Guez & Silver, AAAI 2016)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import torch as th
import torch.nn.functional as F
from stable_baselines3 import DQN
from stable_baselines3.common.torch_layers import create_mlp
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn

from ._settings import DDQNSettings, budget_replay_ratio

_MAX_WARMUP = 5_000  # replay warm-up never exceeds this many iterations


def double_q_target(
    rewards: th.Tensor,
    dones: th.Tensor,
    discounts: th.Tensor | float,
    next_q_online: th.Tensor,
    next_q_target: th.Tensor,
) -> th.Tensor:
    """y = r + γ·(1 − done)·Q_target(s′, argmax_a Q_online(s′, a)).

    Args:
        rewards, dones: (batch, 1) float tensors.
        discounts: γ, or (batch, 1) per-sample γⁿ from SB3's n-step buffer.
        next_q_online, next_q_target: (batch, n_actions) Q-values of s′ from the two networks.

    Returns:
        (batch, 1) targets: the online network selects the action, the target network scores it.
    """
    greedy = next_q_online.argmax(dim=1, keepdim=True)
    return rewards + (1.0 - dones) * discounts * th.gather(next_q_target, dim=1, index=greedy)


class DuelingHead(nn.Module):
    """Q(s, a) = V(s) + A(s, a) − mean_a A(s, a) over a shared trunk (Wang et al., ICML 2016).

    Args:
        features_dim: input size.
        n_actions: number of discrete actions.
        net_arch: hidden sizes of the shared trunk (at least one layer).
        activation_fn: activation class of the trunk.
    """

    def __init__(self, features_dim: int, n_actions: int, net_arch: list[int], activation_fn: type[nn.Module]) -> None:
        super().__init__()
        if not net_arch:
            raise ValueError(f"a dueling head needs at least one hidden layer; got net_arch={net_arch!r}")
        self.trunk = nn.Sequential(*create_mlp(features_dim, -1, net_arch, activation_fn))
        self.value = nn.Linear(net_arch[-1], 1)
        self.advantage = nn.Linear(net_arch[-1], n_actions)

    def forward(self, features: th.Tensor) -> th.Tensor:
        """(batch, features_dim) → (batch, n_actions) Q-values."""
        hidden = self.trunk(features)
        advantage = self.advantage(hidden)
        return self.value(hidden) + advantage - advantage.mean(dim=1, keepdim=True)


class DuelingQNetwork(QNetwork):
    """SB3's ``QNetwork`` with its MLP replaced by a :class:`DuelingHead` (same interface, same ``q_net`` name)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.q_net = DuelingHead(self.features_dim, int(self.action_space.n), self.net_arch, self.activation_fn)


class DuelingDQNPolicy(DQNPolicy):
    """SB3's ``MlpPolicy`` for DQN with dueling Q-networks (online and target)."""

    def make_q_net(self) -> QNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return DuelingQNetwork(**net_args).to(self.device)


class DoubleDQN(DQN):
    """A drop-in stable-baselines3 ``DQN`` whose TD target is the double-Q target.

    SB3's own DQN is vanilla: its target network both picks and scores the next action, which
    over-estimates values. Only :meth:`train` differs; everything SB3 users rely on is kept:
    n-step discounts from the replay buffer, the Huber loss, gradient-norm clipping, the
    learning-rate schedule, ``_n_updates`` and the logger keys ``train/loss`` and
    ``train/n_updates``. ``save``/``load`` round-trip under the subclass.
    """

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses = []
        for _ in range(gradient_steps):
            batch = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            discounts = batch.discounts if batch.discounts is not None else self.gamma
            with th.no_grad():
                targets = double_q_target(
                    batch.rewards,
                    batch.dones,
                    discounts,
                    self.q_net(batch.next_observations),
                    self.q_net_target(batch.next_observations),
                )
            q_taken = th.gather(self.q_net(batch.observations), dim=1, index=batch.actions.long())
            loss = F.smooth_l1_loss(q_taken, targets)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)))


def make_ddqn(env: VecEnv, options: dict[str, Any], steps: int, num_envs: int, seed: int) -> DoubleDQN:
    """The search's Double DQN for a budget of ``steps`` iterations on ``env`` (``num_envs`` designs per step).

    ``options`` are the agent options: :class:`DDQNSettings` fields (fractions of the budget become
    step counts here, the replay ratio becomes gradient steps per vector step) and other ``DQN``
    keywords. The Q-network is an MLP with leaky ReLUs (``hidden_sizes``, default two layers of
    twice the observation size), dueling if asked; training runs every vector step.
    """
    settings, extra = DDQNSettings.split(options)
    values = asdict(settings)
    obs_dim = env.observation_space.shape[0]
    learning_starts = min(_MAX_WARMUP, max(settings.batch_size, int(values.pop("learning_starts_fraction") * steps)))
    target_update = max(num_envs, int(values.pop("target_update_fraction") * steps))
    ratio = values.pop("replay_ratio")
    gradient_steps = max(1, round((budget_replay_ratio(steps) if ratio is None else ratio) * num_envs))
    hidden = list(values.pop("hidden_sizes")) or [2 * obs_dim, 2 * obs_dim]
    policy = DuelingDQNPolicy if values.pop("dueling") else "MlpPolicy"
    return DoubleDQN(
        policy,
        env,
        **{**values, "buffer_size": min(settings.buffer_size, steps)},
        learning_starts=learning_starts,
        train_freq=1,
        gradient_steps=gradient_steps,
        target_update_interval=target_update,
        policy_kwargs={"net_arch": hidden, "activation_fn": th.nn.LeakyReLU},
        seed=seed,
        device="cpu",
        **extra,
    )
