"""Search agents: the Double DQN (an SB3 ``DQN`` subclass) and its helpers."""

from .ddqn import DoubleDQN, double_q_target

__all__ = ["DoubleDQN", "double_q_target"]
