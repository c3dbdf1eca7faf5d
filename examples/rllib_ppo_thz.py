"""RLlib PPO on the continuous THz env, configured through ``env_config``.

RLlib hands ``env_config`` to the env creator; the workbench envs take one config mapping (plus
keyword overrides), so the creator is one line. Install the ``[ray]`` extra.

Run with ray 2.60.0 (RLlib new API stack), gymnasium 1.4.0, torch 2.13.0 (CPU).

    python examples/rllib_ppo_thz.py --iterations 20 --seed 0
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.tune.registry import register_env

ENV_ID = "workbench/NanogapLoopContinuous-v0"


def make_env(env_config: dict) -> gym.Env:
    """RLlib env creator: ``env_config`` is the workbench env's config mapping."""
    import envs  # noqa: F401  (registers the ids, also inside Ray worker processes)

    return gym.make(ENV_ID, config=dict(env_config))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20, help="PPO training iterations")
    parser.add_argument("--batch", type=int, default=1_000, help="env steps per iteration")
    parser.add_argument("--env-runners", type=int, default=0, help="remote env runners (0: sample in the driver)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ray.init(num_cpus=max(1, args.env_runners + 1), include_dashboard=False, log_to_driver=False)
    register_env("workbench-thz", make_env)
    config = (
        PPOConfig()
        .environment("workbench-thz", env_config={"target_frequency": 0.2e12, "max_steps_per_action": 2})
        .env_runners(num_env_runners=args.env_runners, rollout_fragment_length="auto")
        .training(train_batch_size_per_learner=args.batch, minibatch_size=min(128, args.batch), num_epochs=2)
        .debugging(seed=args.seed)
    )
    algo = config.build_algo()
    start = time.perf_counter()
    for _ in range(args.iterations):
        result = algo.train()
    elapsed = time.perf_counter() - start
    env_runners = result["env_runners"]
    steps = env_runners.get("num_env_steps_sampled_lifetime", args.iterations * args.batch)
    print(f"RLlib PPO: {args.iterations} iterations, {steps:,} env steps in {elapsed:.1f} s")
    print(f"mean episode return (total ln-FE improvement): {env_runners.get('episode_return_mean', float('nan')):.3f}")
    algo.stop()
    ray.shutdown()


if __name__ == "__main__":
    main()
