"""Existing layer, head and optimiser test files run again on the strict stand-in device.

No copies: the same files run in a child pytest with ``ALZZA_DEVICE=standin``, which makes
``device=None`` mean the stand-in (``alzza.device.DEFAULT_DEVICE``) for every ``Model`` they
build, and makes ``alzza.testing.check_built_layer_gradients`` (so ``check_layer`` and
``check_layer_gradients``) move each host-built layer and its input there before checking.
A leak of any kind in the code those files reach then fails here, on a CPU.

Run one file by hand the same way::

    ALZZA_DEVICE=standin python -m pytest -q -p no:cacheprovider tests/test_recurrent.py

The chosen files (about 25 s together on a 2-core machine, more when it is loaded) and why:

- test_recurrent.py: rnn / lstm with ragged lengths (host bookkeeping next to device math);
- test_channelwise.py: the channel-wise layers' gradient checks;
- test_optim_rules.py, test_adamw_clip_schedules.py: every optimiser rule, clipping and
  schedules stepping device slots;
- test_label_smoothing.py: the select head's smoothed loss and backward;
- test_layer_contract.py: ``check_layer`` on every registered layer type (float64 gradients,
  float32 kept, save and load in a model), minus its two ``test_object_*`` tests, whose own
  code calls NumPy on a model's outputs;
- test_resume.py: a run of each model family cut at a checkpoint resumes to the same
  slots, history and metrics (checkpoints written from and read into device slots);
- test_encoder_decoder.py, test_autoencoder.py, test_gan.py: the families' stages, freezing
  and gradients through two parts (their tests compare slots on the host with ``to_host``);
- test_gru.py, test_layernorm.py, test_attention.py: gated recurrence, layer norm over ragged
  sequences, self- and cross-attention with its memory, token-by-token decoding;
- test_model_core.py, test_seq_model.py: a model's dtype policy, seeding, save and load,
  whole-model gradients on ragged sequences.

Not yet listed: test_user_heads.py, whose user head is written with NumPy as the README shows
a user writing one (such a head runs on the CPU only; see docs/performance.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = ["test_recurrent.py", "test_channelwise.py", "test_optim_rules.py", "test_adamw_clip_schedules.py",
         "test_label_smoothing.py", "test_layer_contract.py", "test_resume.py", "test_encoder_decoder.py",
         "test_autoencoder.py", "test_gan.py", "test_gru.py", "test_layernorm.py", "test_attention.py",
         "test_model_core.py", "test_seq_model.py", "test_translator.py"]
#: tests of those files whose own code (not alzza's) reads device arrays with NumPy
DESELECT = "not (test_layer_contract and test_object_)"


def _run(files, device="standin"):
    env = {**os.environ, "ALZZA_DEVICE": device, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "-k", DESELECT,
                           *[str(ROOT / "tests" / f) for f in files]],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_layer_head_and_optimiser_files_pass_on_the_standin():
    done = _run(FILES)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout.splitlines()[-1]


def test_the_suite_can_fail_a_leak_planted_in_a_layer(tmp_path):
    """The child run really is on the stand-in: a NumPy call planted in a checked layer fails it."""
    test = tmp_path / "test_planted.py"
    test.write_text(
        "import numpy as np\n"
        "from alzza.layers.dense import Dense\n"
        "from alzza.testing import check_layer_gradients\n"
        "def test_planted(monkeypatch):\n"
        "    forward = Dense.forward\n"
        "    monkeypatch.setattr(Dense, 'forward', lambda self, x, training=False: np.tanh(forward(self, x)))\n"
        "    check_layer_gradients(Dense(3), (4,))\n")
    env = {**os.environ, "ALZZA_DEVICE": "standin"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "StandinLeak" in done.stdout, done.stdout[-3000:]
    env["ALZZA_DEVICE"] = "cpu"  # the same planted code is fine on the CPU: the stand-in is what refuses it
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.parametrize("name", FILES)
def test_each_listed_file_exists(name):
    assert (ROOT / "tests" / name).is_file()


def test_a_ragged_sequence_sum_stays_on_the_device():
    """The sequence form of ``add`` made its sum and padding mask with NumPy (a host array met the
    branches' device outputs); now both live where the branches computed, equal to the CPU."""
    import numpy as np

    from alzza import Model
    from alzza.sequences import Sequences, SeqShape

    x = Sequences(np.random.default_rng(0).standard_normal((3, 4, 2)).astype(np.float32), np.array([4, 2, 1]))
    y = np.eye(3)[np.random.default_rng(1).integers(0, 3, size=(3, 4))]
    steps = [Model(None, [["add", {}, ["seqwrap", {}, 2]]], input_shape=SeqShape((4, 2)),
                   output_shape=SeqShape((4, 3)), mode="seqselect", seed=0, device=device,
                   printer=lambda *a: None).train_step(x, y, 0.01) for device in ("cpu", "standin")]
    assert steps[0] == steps[1]


def test_load_weights_reads_the_file_on_the_host_whatever_the_default_device(tmp_path, monkeypatch):
    """A resume on the stand-in suite's default device built the saved model there and then copied
    its device arrays into host slots with NumPy (an implicit device → host conversion)."""
    import numpy as np

    from alzza import Model, device
    from alzza.device import to_host
    from alzza.saving.model_files import load_weights

    def model(seed, on):
        return Model(None, [4], input_shape=(3,), output_shape=(2,), mode="regression", seed=seed, device=on,
                     printer=lambda *a: None)

    saved = model(1, "cpu")
    saved.save(tmp_path / "m.npz")
    monkeypatch.setattr(device, "DEFAULT_DEVICE", "standin")
    for on in ("cpu", "standin"):
        fresh = model(2, on)
        load_weights(fresh, tmp_path / "m.npz")
        for a, b in zip(saved.slots, fresh.slots, strict=True):
            assert np.array_equal(a.value, to_host(b.value)), (on, a.name)
