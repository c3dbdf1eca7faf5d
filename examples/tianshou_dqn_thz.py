"""Tianshou Double DQN (online argmax, target-network value) on the discrete THz env.

The envs are used unchanged: ``gym.make("workbench/NanogapLoop-v0")`` inside Tianshou's
``DummyVectorEnv``; ``DQN(is_double=True, target_update_freq=...)`` gives the double-Q target
Q_target(s', argmax_a Q_online(s', a)) with a hard-updated target network.

Run with tianshou 2.0.1, gymnasium 1.4.0, torch 2.13.0 (CPU); install with
``pip install -e ".[tianshou]"``.

    python examples/tianshou_dqn_thz.py --steps 20000 --seed 0
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from tianshou.algorithm import DQN
from tianshou.algorithm.modelfree.dqn import DiscreteQLearningPolicy
from tianshou.algorithm.optim import AdamOptimizerFactory
from tianshou.data import Collector, CollectStats, VectorReplayBuffer
from tianshou.env import DummyVectorEnv
from tianshou.trainer import OffPolicyTrainerParams
from tianshou.utils.net.common import Net

import envs  # noqa: F401  (registers the workbench ids)
from envs.nanogap import DESIGN_PARAMETERS

ENV_ID = "workbench/NanogapLoop-v0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps (evaluated designs)")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target-frequency", type=float, default=0.2e12, help="Hz")
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    made: list[gym.Env] = []  # the env instances, to read their best designs afterwards

    def make() -> gym.Env:
        env = gym.make(ENV_ID, target_frequency=args.target_frequency)
        made.append(env)
        return env

    train_envs = DummyVectorEnv([make for _ in range(args.num_envs)])
    train_envs.seed([args.seed + i for i in range(args.num_envs)])
    probe = made[0]
    net = Net(state_shape=probe.observation_space.shape, action_shape=probe.action_space.n, hidden_sizes=[128, 128])
    policy = DiscreteQLearningPolicy(model=net, action_space=probe.action_space, eps_training=1.0)
    algorithm = DQN(
        policy=policy,
        optim=AdamOptimizerFactory(lr=1e-3),
        gamma=0.9,
        n_step_return_horizon=3,
        target_update_freq=200,  # > 0: a target network, hard-copied every 200 gradient steps
        is_double=True,  # online network picks the next action, target network scores it
    )
    collector = Collector[CollectStats](
        algorithm, train_envs, VectorReplayBuffer(50_000, args.num_envs), exploration_noise=True
    )
    collector.reset()
    collector.collect(n_step=min(1_000, args.steps // 4), random=True)  # replay warm-up

    epochs = 10
    per_epoch = max(args.steps // epochs, args.num_envs)

    def anneal(epoch: int, env_step: int) -> None:  # ε from 1 to 0.05 over the first half of the budget
        policy.set_eps_training(max(0.05, 1.0 - 0.95 * env_step / (0.5 * args.steps)))

    start = time.perf_counter()
    result = algorithm.run_training(
        OffPolicyTrainerParams(
            training_collector=collector,
            max_epochs=epochs,
            epoch_num_steps=per_epoch,
            collection_step_num_env_steps=args.num_envs * 4,
            update_step_num_gradient_steps_per_sample=0.25,
            batch_size=64,
            training_fn=anneal,
            test_in_training=False,
            verbose=False,
            show_progress=False,
        )
    )
    elapsed = time.perf_counter() - start
    best = max(made, key=lambda env: env.unwrapped.best_value).unwrapped
    design = best.best_design
    print(f"tianshou DQN (double-Q, target network): {result.train_step:,} env steps in {elapsed:.1f} s")
    print(f"best FE_avg at {args.target_frequency / 1e12:g} THz: {best.best_value:,.0f}")
    print("best design (m):", {k: design[k] for k in DESIGN_PARAMETERS})
    assert np.isfinite(best.best_value)


if __name__ == "__main__":
    main()
