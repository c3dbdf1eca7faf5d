"""render_mode="rgb_array": frames of every environment, video recording, stable-baselines3 id strings."""

from __future__ import annotations

import sys
import types

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import RecordVideo, RenderCollection
from standins import StandInSpectra

import envs  # noqa: F401  (registers the ids)
from envs._render import FRAME_SHAPE, grid_frame
from envs.nanogap import NanogapLoopVectorEnv
from envs.plate_cavity import PlateCavityVectorEnv

# Small acoustic set-up (4×4 modes, 20–60 Hz at η = 0.05) so each frame's response is cheap.
SMALL_CAVITY = {"n_plate": 4, "n_transverse": 4, "band": (20.0, 60.0), "plate_loss": 0.05, "air_loss": 0.05}
SINGLE = [
    ("workbench/NanogapLoop-v0", {}),
    ("workbench/NanogapLoopContinuous-v0", {}),
    ("workbench/PlateCavity-v0", {"config": SMALL_CAVITY}),
    ("workbench/PlateCavityContinuous-v0", {"config": {**SMALL_CAVITY, "objective": "tune"}}),
    ("workbench/Toy-v0", {}),  # no frame of its own: the default draws the grid positions
]


def _single_moves(space: gym.Space) -> list:
    """Every one-parameter move, one step down and one up: the discrete actions, or ±unit vectors."""
    if isinstance(space, gym.spaces.Discrete):
        return list(range(space.n))
    return [sign * np.eye(space.shape[0], dtype=np.float32)[p] for p in range(space.shape[0]) for sign in (-1, 1)]


def _is_picture(frame: np.ndarray) -> bool:
    """An (H, W, 3) uint8 frame with something drawn on it (not one flat colour)."""
    return frame.shape == FRAME_SHAPE and frame.dtype == np.uint8 and len(np.unique(frame.reshape(-1, 3), axis=0)) > 8


@pytest.mark.parametrize(("env_id", "kwargs"), SINGLE)
def test_rgb_array_render_is_an_hw3_uint8_picture_that_changes_with_the_design(env_id, kwargs):
    env = gym.make(env_id, render_mode="rgb_array", **kwargs)
    env.reset(seed=0)
    first = env.render()
    assert _is_picture(first)
    design = env.unwrapped.design
    for action in _single_moves(env.action_space):  # the first move that keeps the design valid
        env.step(action)
        if env.unwrapped.design != design:
            break
    assert env.unwrapped.design != design
    assert not np.array_equal(env.render(), first)


@pytest.mark.parametrize(
    ("vector_class", "kwargs"), [(NanogapLoopVectorEnv, {}), (PlateCavityVectorEnv, {"config": SMALL_CAVITY})]
)
def test_vector_env_renders_one_frame_per_sub_environment(vector_class, kwargs):
    vec = vector_class(num_envs=2, render_mode="rgb_array", **kwargs)
    vec.reset(seed=1)
    frames = vec.render()
    assert len(frames) == 2
    assert all(_is_picture(frame) for frame in frames)


@pytest.mark.parametrize("env_id", ["workbench/NanogapLoop-v0", "workbench/PlateCavity-v0"])
def test_unknown_render_mode_is_refused_with_the_supported_modes(env_id):
    with pytest.raises(
        ValueError, match=r"render_mode must be None or one of \['ansi', 'rgb_array'\]; got render_mode='video'"
    ):
        gym.make(env_id, render_mode="video")
    with pytest.raises(ValueError, match="rgb_array"):
        NanogapLoopVectorEnv(num_envs=2, render_mode="video")


def test_thz_frame_shows_the_spectrum_of_the_injected_model():
    model = StandInSpectra()
    env = gym.make("workbench/NanogapLoop-v0", render_mode="rgb_array", model=model)
    env.reset(seed=0)
    calls = len(model.calls)
    assert _is_picture(env.render())
    assert model.calls[calls:] == [1]  # one design, one spectrum for the frame


def test_grid_frame_draws_any_design_from_its_grid_positions():
    assert _is_picture(grid_frame(np.array([0.0, 0.5, 1.0]), "three parameters"))


def test_render_collection_gathers_one_frame_per_reset_and_step():
    env = RenderCollection(gym.make("workbench/NanogapLoop-v0", render_mode="rgb_array"))
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())
    frames = env.render()
    assert len(frames) == 4
    assert all(_is_picture(frame) for frame in frames)


def _stand_in_moviepy(monkeypatch: pytest.MonkeyPatch, written: list) -> None:
    """Install a minimal ``moviepy`` (only when the real one is absent) that keeps the clips it is asked to write."""

    class ImageSequenceClip:
        def __init__(self, frames, fps):
            self.frames, self.fps = list(frames), fps

        def write_videofile(self, path, logger=None):
            written.append((path, self.frames, self.fps))
            np.save(path + ".npy", np.stack(self.frames))

    module = types.ModuleType("moviepy.video.io.ImageSequenceClip")
    module.ImageSequenceClip = ImageSequenceClip
    for name in ("moviepy", "moviepy.video", "moviepy.video.io"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "moviepy.video.io.ImageSequenceClip", module)


def test_record_video_writes_the_episode_frames(tmp_path, monkeypatch):
    written: list = []
    try:
        import moviepy  # noqa: F401
    except ImportError:
        _stand_in_moviepy(monkeypatch, written)
    env = gym.make("workbench/NanogapLoop-v0", render_mode="rgb_array", max_episode_steps=4)
    env = RecordVideo(env, str(tmp_path), episode_trigger=lambda episode: episode == 0, fps=4)
    env.reset(seed=0)
    truncated = False
    while not truncated:
        *_, truncated, _ = env.step(env.action_space.sample())
    env.close()
    videos = sorted(tmp_path.glob("*.mp4*"))
    assert videos, "RecordVideo wrote no video"
    if written:  # the stand-in kept the frames: reset + 4 steps, each an (H, W, 3) uint8 picture
        ((_, frames, fps),) = written
        assert fps == 4 and len(frames) == 5 and all(_is_picture(frame) for frame in frames)


def test_sb3_ppo_and_make_vec_env_accept_the_registered_id_strings():
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    model = PPO("MlpPolicy", "workbench/NanogapLoopContinuous-v0", n_steps=16, batch_size=16, n_epochs=1, seed=0)
    assert model.get_env().get_attr("render_mode") == ["rgb_array"]
    model.learn(total_timesteps=32)
    assert model.num_timesteps == 32

    vec = make_vec_env("envs:workbench/NanogapLoop-v0", n_envs=2, seed=0)
    assert vec.get_attr("render_mode") == ["rgb_array", "rgb_array"]
    assert vec.reset().shape == (2, 8)
    assert all(_is_picture(frame) for frame in vec.get_images())
    vec.close()
