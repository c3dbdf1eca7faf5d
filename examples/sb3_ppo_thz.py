"""stable-baselines3 PPO on the continuous THz env, given by its registered id string.

SB3 builds the env itself with ``gym.make(id, render_mode="rgb_array")``; the workbench envs
accept that mode (a frame of the unit cell and its spectrum), so the id string works unchanged,
as does ``make_vec_env(id, n_envs)``. With the ``envs:`` prefix Gymnasium imports the ``envs``
package, which registers the ids, before it looks the id up.

Run with stable-baselines3 2.9.2, gymnasium 1.4.0, torch 2.13.0 (CPU).

    python examples/sb3_ppo_thz.py --steps 20000 --seed 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from envs.nanogap import DESIGN_PARAMETERS

ENV_ID = "envs:workbench/NanogapLoopContinuous-v0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps (evaluated designs)")
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    vec = make_vec_env(ENV_ID, n_envs=args.num_envs, seed=args.seed, env_kwargs={"target_frequency": 0.2e12})
    n_steps = max(16, min(256, args.steps // args.num_envs))
    model = PPO("MlpPolicy", vec, n_steps=n_steps, batch_size=min(64, n_steps * args.num_envs), seed=args.seed)
    start = time.perf_counter()
    model.learn(total_timesteps=args.steps)
    elapsed = time.perf_counter() - start

    best = max(vec.get_attr("best_value"))
    design = vec.get_attr("best_design")[int(np.argmax(vec.get_attr("best_value")))]
    print(f"SB3 PPO: {model.num_timesteps:,} env steps in {elapsed:.1f} s")
    print(f"best FE_avg at 0.2 THz: {best:,.0f}")
    print("best design (m):", {k: design[k] for k in DESIGN_PARAMETERS})
    frame = vec.get_images()[0]  # render_mode="rgb_array": the design and its spectrum
    print(f"frame of env 0: {frame.shape} {frame.dtype}")


if __name__ == "__main__":
    main()
