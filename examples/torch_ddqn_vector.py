"""Single-file Double DQN in plain PyTorch on the native vector env (CleanRL style).

``gym.make_vec("workbench/NanogapLoop-v0", num_envs=N, vectorization_mode="vector_entry_point")``
returns the workbench's own vector env: every step evaluates the N designs in one Numba call.
The agent is written out here in full: ε-greedy exploration, a replay buffer, the double-Q target
y = r + γ·Q_target(s', argmax_a Q_online(s', a)) and a hard-copied target network. The vector env
autoresets on the step after an episode ends (next-step mode), so that step's transition (final
observation → new start) is not stored.

Run with gymnasium 1.4.0, torch 2.13.0 (CPU).

    python examples/torch_ddqn_vector.py --steps 50000 --seed 0
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn

import envs  # noqa: F401  (registers the workbench ids)
from envs.nanogap import DESIGN_PARAMETERS


def q_network(n_obs: int, n_actions: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_obs, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, n_actions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000, help="environment steps (evaluated designs)")
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gamma", type=float, default=0.9)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--buffer-size", type=int, default=100_000)
    parser.add_argument("--learning-starts", type=int, default=1_000, help="env steps before the first update")
    parser.add_argument("--train-every", type=int, default=4, help="vector steps between gradient steps")
    parser.add_argument("--target-every", type=int, default=500, help="gradient steps between target copies")
    parser.add_argument("--exploration-fraction", type=float, default=0.5, help="ε decays 1 → 0.05 over this fraction")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)

    venv = gym.make_vec("workbench/NanogapLoop-v0", num_envs=args.num_envs, vectorization_mode="vector_entry_point")
    n_obs, n_actions = venv.single_observation_space.shape[0], venv.single_action_space.n
    online, target = q_network(n_obs, n_actions), q_network(n_obs, n_actions)
    target.load_state_dict(online.state_dict())
    optimizer = torch.optim.Adam(online.parameters(), lr=args.lr)

    size = args.buffer_size
    buffer = {
        "obs": np.zeros((size, n_obs), np.float32),
        "next_obs": np.zeros((size, n_obs), np.float32),
        "action": np.zeros(size, np.int64),
        "reward": np.zeros(size, np.float32),
        "done": np.zeros(size, np.float32),
    }
    stored, cursor, updates = 0, 0, 0

    obs, _ = venv.reset(seed=args.seed)
    restarting = np.zeros(args.num_envs, dtype=bool)
    start = time.perf_counter()
    vector_steps = args.steps // args.num_envs
    for step in range(vector_steps):
        env_steps = step * args.num_envs
        epsilon = max(0.05, 1.0 - 0.95 * env_steps / (args.exploration_fraction * args.steps))
        with torch.no_grad():
            greedy = online(torch.as_tensor(obs)).argmax(dim=1).numpy()
        explore = rng.random(args.num_envs) < epsilon
        actions = np.where(explore, rng.integers(0, n_actions, args.num_envs), greedy)
        next_obs, rewards, terminated, truncated, _ = venv.step(actions)

        keep = ~restarting  # a restarting sub-env's step only carried the reset observation
        n = int(keep.sum())
        rows = (cursor + np.arange(n)) % size
        for key, value in (
            ("obs", obs),
            ("next_obs", next_obs),
            ("action", actions),
            ("reward", rewards),
            ("done", terminated),
        ):
            buffer[key][rows] = value[keep]
        cursor, stored = (cursor + n) % size, min(stored + n, size)
        obs, restarting = next_obs, terminated | truncated

        if env_steps >= args.learning_starts and step % args.train_every == 0:
            batch = rng.integers(0, stored, args.batch_size)
            o, o2 = torch.as_tensor(buffer["obs"][batch]), torch.as_tensor(buffer["next_obs"][batch])
            a = torch.as_tensor(buffer["action"][batch])
            r, d = torch.as_tensor(buffer["reward"][batch]), torch.as_tensor(buffer["done"][batch])
            with torch.no_grad():
                best_next = online(o2).argmax(dim=1, keepdim=True)  # online net selects
                y = r + args.gamma * (1.0 - d) * target(o2).gather(1, best_next).squeeze(1)  # target net scores
            q = online(o).gather(1, a[:, None]).squeeze(1)
            loss = nn.functional.smooth_l1_loss(q, y)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(online.parameters(), 10.0)
            optimizer.step()
            updates += 1
            if updates % args.target_every == 0:
                target.load_state_dict(online.state_dict())
    elapsed = time.perf_counter() - start

    steps = vector_steps * args.num_envs
    print(
        f"plain-torch Double DQN: {steps:,} env steps in {elapsed:.1f} s ({steps / elapsed:,.0f} steps/s), "
        f"{updates:,} gradient steps"
    )
    print(f"best FE_avg at 0.2 THz: {venv.unwrapped.best_value:,.0f}")
    print("best design (m):", {k: venv.unwrapped.best_design[k] for k in DESIGN_PARAMETERS})


if __name__ == "__main__":
    main()
