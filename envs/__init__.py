"""Gymnasium environments of the workbench (registered on import).

Ids: ``workbench/NanogapLoop-v0`` (discrete moves) and ``workbench/NanogapLoopContinuous-v0``
(relative moves), both with a vector entry point for ``gym.make_vec``; see ``envs.nanogap``.
``workbench/PlateCavity-v0`` and ``workbench/PlateCavityContinuous-v0``: plate-backed acoustic
cavities, likewise; see ``envs.plate_cavity``. ``workbench/Toy-v0`` and
``workbench/ToyContinuous-v0``: a closed-form objective on a budgeted grid, the fast stand-in for
physics in tests; see ``envs.toy``. ``MAX_MOVE_SIZES`` and ``MAX_MOVE_STEP`` bound the
``move_steps`` config key of every grid environment.
"""

from gymnasium.envs.registration import register

from ._common import MAX_MOVE_SIZES, MAX_MOVE_STEP

__all__ = ["MAX_MOVE_SIZES", "MAX_MOVE_STEP"]

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
register(
    id="workbench/PlateCavity-v0",
    entry_point="envs.plate_cavity:PlateCavityEnv",
    vector_entry_point="envs.plate_cavity:PlateCavityVectorEnv",
    max_episode_steps=128,
)
register(
    id="workbench/PlateCavityContinuous-v0",
    entry_point="envs.plate_cavity:PlateCavityContinuousEnv",
    vector_entry_point="envs.plate_cavity:PlateCavityContinuousVectorEnv",
    max_episode_steps=128,
)
register(
    id="workbench/Toy-v0",
    entry_point="envs.toy:ToyEnv",
    vector_entry_point="envs.toy:ToyVectorEnv",
    max_episode_steps=128,
)
register(
    id="workbench/ToyContinuous-v0",
    entry_point="envs.toy:ToyContinuousEnv",
    vector_entry_point="envs.toy:ToyContinuousVectorEnv",
    max_episode_steps=128,
)
