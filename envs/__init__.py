"""Gymnasium environments of the workbench (registered on import).

Ids: ``workbench/NanogapLoop-v0`` (discrete moves) and ``workbench/NanogapLoopContinuous-v0``
(relative moves), both with a vector entry point for ``gym.make_vec``; see ``envs.nanogap``.
"""

from gymnasium.envs.registration import register

register(
    id="workbench/NanogapLoop-v0",
    entry_point="envs.nanogap:NanogapLoopEnv",
    vector_entry_point="envs.nanogap:NanogapLoopVectorEnv",
    max_episode_steps=128,
)
register(
    id="workbench/NanogapLoopContinuous-v0",
    entry_point="envs.nanogap:NanogapLoopContinuousEnv",
    vector_entry_point="envs.nanogap:NanogapLoopContinuousVectorEnv",
    max_episode_steps=128,
)
