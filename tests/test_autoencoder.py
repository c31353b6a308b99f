"""Chapter 13: the autoencoder (gradients of both paths, fix_encoder, save/load) and
semantic hashing (a training example finds itself at rank 0 of its own bucket)."""

from __future__ import annotations

import numpy as np
import pytest
from _family_data import write_tiny_mnist

import alzza
from alzza import Autoencoder
from alzza.data import make_dataset
from alzza.device import to_host
from alzza.errors import AlzzaError
from alzza.testing import check_model_gradients

TOL = 1e-6


def small_autoencoder(**options):
    return Autoencoder(None, [5, ["full", {"width": 3, "actfunc": "sigmoid"}]], [4], [4], input_shape=(6,),
                       output_shape=(3,), mode="select", dtype="float64", seed=0, init={"scheme": "glorot"},
                       **options)


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    root = write_tiny_mnist(tmp_path_factory.mktemp("data"))
    return make_dataset({"name": "mnist", "train_ratio": 0.1, "scale": True}, data_dir=root, seed=3)


def test_reconstruction_gradients():
    model = small_autoencoder()
    x = np.random.default_rng(1).standard_normal((4, 6))
    errors = check_model_gradients(model.reconstruction, x, x, tol=TOL)
    assert set(errors) == {s.name for s in model.parts["encoder"].slots + model.parts["decoder"].slots}


@pytest.mark.parametrize("fix", [False, True])
def test_supervised_gradients(fix):
    model = small_autoencoder(fix_encoder=fix)
    x = np.random.default_rng(2).standard_normal((4, 6))
    y = np.eye(3)[[0, 1, 2, 1]]
    errors = check_model_gradients(model.supervised_chain, x, y, tol=TOL)
    encoder_names = {s.name for s in model.parts["encoder"].slots}
    assert encoder_names.isdisjoint(errors) == fix
    assert {s.name for s in model.parts["supervised"].slots} <= set(errors)


def test_decay_reaches_only_the_trained_slots():
    model = small_autoencoder(l2_decay=0.1)
    x = np.random.default_rng(3).standard_normal((4, 6))
    check_model_gradients(model.reconstruction, x, x, tol=TOL)


@pytest.mark.parametrize("fix", [False, True])
def test_fix_encoder_leaves_the_encoder_bit_for_bit(mnist, fix):
    model = Autoencoder(mnist, [16, 8], [16], [], fix_encoder=fix, seed=1, printer=lambda *a: None)
    model.autoencode(1, 10, 0.01, 0, progress=False, max_batches=3)
    before = {s.name: to_host(s.value).copy() for s in model.slots}
    model.train(2, 10, 0.01, 0, progress=False)
    for part, slots in model.parts.items():
        for slot in slots.slots:
            same = np.array_equal(to_host(slot.value), before[slot.name])
            if part == "encoder":
                assert same == fix, slot.name
            elif part == "supervised":
                assert not same, slot.name
            else:  # the decoder is never touched by supervised training
                assert same, slot.name


def test_autoencode_uses_all_inputs_and_leaves_supervised_alone(mnist):
    model = Autoencoder(mnist, [8], [], [], seed=1, printer=lambda *a: None)
    sup = {s.name: to_host(s.value).copy() for s in model.parts["supervised"].slots}
    history = model.autoencode(1, 10, 0.001, 1, progress=False)
    assert mnist.autoencode_count > mnist.train_count
    assert len(history.epoch) == 1
    assert all(np.array_equal(to_host(s.value), sup[s.name]) for s in model.parts["supervised"].slots)


def test_save_load_predict_identical(mnist, tmp_path):
    model = Autoencoder(mnist, [16, ["full", {"width": 6, "actfunc": "sigmoid"}]], [16], [8], seed=2,
                        optimizer="adam", printer=lambda *a: None)
    model.autoencode(1, 10, 0.001, 0, progress=False, max_batches=2)
    model.train(1, 10, 0.001, 0, progress=False)
    model.save(tmp_path / "ae.npz")
    again = alzza.load(tmp_path / "ae.npz", printer=lambda *a: None)
    assert isinstance(again, Autoencoder)
    x, _ = mnist.test_data()
    np.testing.assert_array_equal(model.predict(x), again.predict(x))
    np.testing.assert_array_equal(model.reconstruct(x), again.reconstruct(x))
    np.testing.assert_array_equal(model.encode(x), again.encode(x))


def test_semantic_hash_query_finds_itself(mnist, tmp_path):
    model = Autoencoder(mnist, [16, ["full", {"width": 6, "actfunc": "sigmoid"}]], [16], [], seed=4,
                        printer=lambda *a: None)
    model.autoencode(1, 10, 0.01, 0, progress=False)
    index = model.semantic_hashing_index()
    inputs = mnist.unlabelled_train_inputs()
    assert len(index) == len(inputs) == mnist.autoencode_count
    assert sum(len(b) for b in index.buckets.values()) == len(inputs)
    picks = [0, 7, len(inputs) - 1]
    matches = model.semantic_hashing_search(inputs[picks], show_cnt=3, max_rank=4, path=tmp_path / "hash.png")
    for k, match in zip(picks, matches, strict=False):
        # the same input encodes to the same code (up to float32 round-off of a different batch size)
        assert match.indices[0] == k and match.distances[0] < 1e-5
        assert np.all(np.diff(match.distances) >= 0)
        members = index.buckets[np.packbits(index.bits[k]).tobytes()]
        assert k in members and match.bucket_size == len(members)
    assert (tmp_path / "hash.png").stat().st_size > 1000


def test_hashing_needs_a_sigmoid_code(mnist):
    model = Autoencoder(mnist, [8], [], [], seed=1, printer=lambda *a: None)
    with pytest.raises(AlzzaError, match="sigmoid"):
        model.semantic_hashing_index()


def test_visualize_writes_originals_and_reconstructions(mnist, tmp_path):
    model = Autoencoder(mnist, [8], [], [], seed=1, printer=lambda *a: None)
    lines = model.visualize(3, path=tmp_path / "v.png")
    assert len(lines) == 3 and len(model.last_figure.axes) == 6
    assert (tmp_path / "v.png").is_file()
