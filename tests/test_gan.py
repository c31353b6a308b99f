"""Chapter 15: the GAN — gradient checks of both paths (the generator's through the
discriminator), freezing both ways bit for bit, value ranges, save/load."""

from __future__ import annotations

import numpy as np
import pytest
from _family_data import tiny_data_dir

import alzza
from alzza import Gan
from alzza.data import make_dataset
from alzza.device import to_host
from alzza.testing import check_model_gradients

TOL = 1e-6
QUIET = dict(printer=lambda *a: None)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tiny_data_dir(tmp_path_factory.mktemp("data"))


def small(**options):
    return Gan(None, [4], [6], [5], input_shape=(2, 2, 3), value_range=(-1, 1), dtype="float64", seed=0,
               init={"scheme": "glorot"}, **QUIET, **options)


def test_generator_gradient_through_the_discriminator():
    gan = small()
    seeds = gan.draw_seeds(5)
    errors = check_model_gradients(gan.generator_chain, seeds, np.ones((5, 1)), tol=TOL)
    assert set(errors) == {s.name for s in gan.parts["generator"].slots}


def test_discriminator_gradient():
    gan = small(l2_decay=0.01)
    real = np.random.default_rng(1).uniform(-1, 1, (3, 2, 2, 3))
    mixed, labels = gan._mixed(real, gan._generate(3))  # both on the model's device, as in training
    assert labels[:3].all() and not labels[3:].any()
    errors = check_model_gradients(gan.discriminator_chain, mixed, labels, tol=TOL)
    assert set(errors) == {s.name for s in gan.parts["discriminator"].slots}


def test_each_step_freezes_the_other_part():
    gan = small()
    real = np.random.default_rng(2).uniform(-1, 1, (4, 2, 2, 3))
    def snapshot(part):
        return [to_host(s.value).copy() for s in gan.parts[part].slots]
    def same(part, old):
        return all(np.array_equal(to_host(s.value), o) for s, o in zip(gan.parts[part].slots, old, strict=False))
    gen, dis = snapshot("generator"), snapshot("discriminator")
    mixed, labels = gan._mixed(real, gan._generate(4, training=True))
    gan.discriminator_chain.train_step(mixed, labels, 0.1)
    assert same("generator", gen) and not same("discriminator", dis)
    gen, dis = snapshot("generator"), snapshot("discriminator")
    gan.generator_chain.train_step(gan.draw_seeds(4), np.ones((4, 1)), 0.1)
    assert same("discriminator", dis) and not same("generator", gen)
    # the generator step did run the discriminator's backward (its grads are filled)
    assert all(np.any(to_host(s.grad) != 0) for s in gan.parts["discriminator"].slots if s.key == "w")


def test_output_activation_follows_the_value_range(root):
    mnist = Gan(make_dataset("gan-mnist", data_dir=root, seed=1), [8], [16], [16], seed=1, **QUIET)
    picture = Gan(make_dataset("gan-picture", data_dir=root, seed=1), [8], [16], [16], seed=1, **QUIET)
    assert mnist.output_actfunc == "tanh" and picture.output_actfunc == "sigmoid"
    fake = picture.generate(4)
    assert fake.shape == (4, 3072) and fake.min() >= 0 and fake.max() <= 1
    assert mnist.generate(3).min() >= -1


def test_book_spelling_discriminor():
    gan = Gan(None, [4], [6], discriminor=[5], input_shape=(12,), value_range=(0, 1), seed=0, **QUIET)
    assert gan.parts["discriminator"].network.layers[0].width == 5


def test_train_reports_pictures_and_save_load(root, tmp_path):
    data = make_dataset({"name": "gan-mnist", "nums": [6, 8]}, data_dir=root, seed=1)
    lines = []
    gan = Gan(data, [8], [16], [16], seed=1, optimizer="adam", printer=lines.append)
    gan.train(2, 10, 0.001, 1, progress=False, max_batches=2, picture_dir=tmp_path, show_cnt=4)
    assert (tmp_path / "gan-epoch-1.png").is_file() and (tmp_path / "gan-epoch-2.png").is_file()
    assert any("discriminator loss" in line for line in lines)
    metrics = gan.test()
    assert set(metrics) >= {"discriminator_accuracy", "generator_accuracy", "discriminator_loss", "generator_loss"}
    gan.save(tmp_path / "gan.npz")
    again = alzza.load(tmp_path / "gan.npz", **QUIET)
    seeds = gan.draw_seeds(5)
    np.testing.assert_array_equal(gan.generate(5, seeds=seeds), again.generate(5, seeds=seeds))
    x, _ = data.test_data()
    np.testing.assert_array_equal(gan.discriminate(x), again.discriminate(x))
