"""Views of a data set: the same examples presented as another task, without copying them.

:class:`Reconstruction` is the autoencoder's view (chapter 13): x → x over ALL training
inputs, labelled or not (mnist's ``train_ratio`` keeps labels for only part of them). The
encoder-decoder's stages (x → t, t → y) are :class:`~alzza.data.sets.encoder_decoder.EncoderDecoderStage`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .dataset import Dataset

__all__ = ["Reconstruction"]


class Reconstruction:
    """A data set as x → x, for :meth:`alzza.models.autoencoder.Autoencoder.autoencode`.

    An epoch is :meth:`Dataset.autoencode_batches` of ``dataset`` (every training input);
    validation pairs each validation input with itself.
    """

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.name = f"{dataset.name}-autoencode"
        count = dataset.autoencode_count
        self.train_count = dataset.train_count if count is None else count

    def batches_per_epoch(self, batch_size: int) -> int:
        return max(1, self.train_count // batch_size) if self.train_count else 0

    def train_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator:
        for x in self.dataset.autoencode_batches(batch_size, rng):
            yield x, x

    def validate_sample(self, count, rng: np.random.Generator):
        x, _ = self.dataset.validate_sample(count, rng)
        return x, x

    def __str__(self) -> str:
        return f"{self.name}({self.train_count} inputs)"
