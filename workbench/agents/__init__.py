"""Search agents: the Double DQN (an SB3 ``DQN`` subclass) and its helpers."""

from .ddqn import DoubleDQN, double_q_target
from .vec_env import GymnasiumVecEnv

__all__ = ["DoubleDQN", "GymnasiumVecEnv", "double_q_target"]
