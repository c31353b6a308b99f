"""The book's chapter 13–15 classes over alzza's model families.

``Autoencoder``, ``EncoderDecoder`` and ``Gan`` take the book's ``(name, dataset,
hconfigs, ...)`` with ``hconfigs`` a dict of sub-network specs and hand them to
:class:`alzza.models.Autoencoder`, :class:`~alzza.models.EncoderDecoder` and
:class:`~alzza.models.Gan` (Adam, as the book's classes extend RnnExtModel).

The book writes the last layer of the decoder, the encoder-decoder's parts, the
generator and the discriminator itself (e.g. ``['full', {'width': 784}]``,
``['seqwrap', ['full', {'width': 27, 'actfunc': 'none'}]]``), while alzza appends that
output layer to every part. So a book spec's last layer is left to alzza when it is a
full layer (bare or in a seqwrap) of exactly the width alzza appends; the generator's
keeps its activation. Any other last layer stays, and alzza's output layer follows it —
except in the encoder-decoder's encoder: there a last layer that is not t's width (the
mnist-kor confs end in ``full 10`` for a 1-wide number) is the code itself, as the book's
decoder reads it, so nothing is appended (``encoder_output=False``; pass
``encoder_output=True`` for alzza's appended layer).
"""

from __future__ import annotations

import numpy as np

from ..models import Autoencoder as _Autoencoder
from ..models import EncoderDecoder as _EncoderDecoder
from ..models import Gan as _Gan
from .family_forms import AutoencoderForms, EncoderDecoderForms, GanForms
from .models import BookMethods, CnnExtModel, figure_path
from .printed_forms import BookPrinter
from .session import next_seed


def _full(spec):
    """(width, actfunc) of a full layer spec — ``n``, ``['full', {...}]`` or a seqwrap of one — else None."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        return spec, None
    if isinstance(spec, (list, tuple)) and spec and spec[0] == "seqwrap" and len(spec) in (2, 3):
        inner = [item for item in spec[1:] if not isinstance(item, dict)]
        return _full(inner[0]) if len(inner) == 1 else None
    if isinstance(spec, (list, tuple)) and len(spec) in (1, 2) and spec[0] == "full":
        options = spec[1] if len(spec) == 2 and isinstance(spec[1], dict) else {}
        return options.get("width"), options.get("actfunc")
    return None


def book_part(spec, width):
    """The book's part spec without its own output layer when alzza appends the same one; (spec, actfunc)."""
    spec = list(spec or [])
    last = _full(spec[-1]) if spec else None
    if last is not None and last[0] == int(np.prod(width)):
        return spec[:-1], last[1]
    return spec, None


def _options(options):
    options.setdefault("optimizer", "adam")
    options.setdefault("seed", next_seed())
    options.setdefault("printer", BookPrinter())
    options.setdefault("macros", CnnExtModel.macros)
    return options


def _done(model, dump_structure):
    if dump_structure:
        from .structure import dump_structure as dump

        dump(model, model.printer)


class Autoencoder(BookMethods, AutoencoderForms, _Autoencoder):
    """Chapter 13: ``Autoencoder(name, dataset, {'encoder': ..., 'decoder': ..., 'supervised': ...},
    fix_encoder=False)``."""

    def __init__(self, name, dataset, hconfigs, show_maps=False, l2_decay=0, l1_decay=0, dump_structure=False,
                 fix_encoder=False, **options):
        decoder, actfunc = book_part(hconfigs.get("decoder"), dataset.input_shape)
        if len(decoder) < len(hconfigs.get("decoder") or []):
            # the book's last decoder layer, now alzza's appended one: its activation (relu unless written)
            options.setdefault("decoder_actfunc", actfunc or "relu")
        super().__init__(dataset, hconfigs.get("encoder", []), decoder, hconfigs.get("supervised", []), name=name,
                         fix_encoder=fix_encoder, l2_decay=l2_decay, l1_decay=l1_decay,
                         **_options(options))
        _done(self, dump_structure)

    def exec_all(self, epoch_count=10, batch_size=10, learning_rate=0.001, report=0, show_cnt=3):
        """The book's exec_all: train, test, visualize (call ``autoencode`` first, as the book does);
        returns nothing, the test metrics stay on ``self.test_metrics``."""
        self.train(epoch_count, batch_size, learning_rate, report)
        self.test_metrics = self.test()  # returned by none of the book's calls: no Out[] dict under the cell
        if show_cnt:
            self.visualize(show_cnt)

    def semantic_hasing_index(self):
        return self.semantic_hashing_index()

    def semantic_hasing_search(self, show_cnt=3, max_rank=5):
        return self.semantic_hashing_search(show_cnt=show_cnt, max_rank=max_rank,
                                            path=figure_path(self, "hashing"))

    def semantic_hashing_search(self, query_x=None, show_cnt=3, max_rank=5, path=None):
        return super().semantic_hashing_search(query_x, show_cnt, max_rank, path or figure_path(self, "hashing"))


#: the names the book's chapter 14 data sets give themselves (its test line names the data set)
BOOK_DATASET_NAMES = (("mnist-eng", "mnist_eng"), ("mnist-kor", "mnist_kor"))


def book_dataset_name(dataset) -> str:
    """``mnist_eng`` / ``mnist_kor`` for alzza's mnist-eng / mnist-kor… data sets, else the data set's name."""
    name = str(getattr(dataset, "name", ""))
    return next((book for prefix, book in BOOK_DATASET_NAMES if name.startswith(prefix)), name)


class EncoderDecoder(BookMethods, EncoderDecoderForms, _EncoderDecoder):
    """Chapter 14: ``EncoderDecoder(name, dataset, {'encoder': ..., 'decoder': ...})`` with ``exec_1_step`` …
    ``exec_3_steps``."""

    def __init__(self, name, dataset, hconfigs, show_maps=False, l2_decay=0, l1_decay=0, dump_structure=False,
                 encoder_output=None, **options):
        given = list(hconfigs.get("encoder") or [])
        encoder, _ = book_part(given, dataset.encoder_shape)
        if encoder_output is None:
            # the conf's last layer is alzza's appended one (t's width), or else the book's code itself
            encoder_output = len(encoder) < len(given) or not given
        if not encoder_output:
            encoder = given
        decoder, _ = book_part(hconfigs.get("decoder"), dataset.output_shape[1:])
        super().__init__(dataset, encoder, decoder, name=name, l2_decay=l2_decay, l1_decay=l1_decay,
                         encoder_output=encoder_output, **_options(options))
        if isinstance(self.printer, BookPrinter):  # the book's test line: "Model mnist_eng test report: ..."
            self.printer.test_name = book_dataset_name(dataset)
        _done(self, dump_structure)

    # the book's exec_N calls return nothing (no Out[] dict under a cell); metrics: self.test_metrics
    def exec_1_step(self, *args, **options) -> None:
        self.test_metrics = super().exec_1_step(*args, **options)

    def exec_2_steps(self, *args, **options) -> None:
        self.test_metrics = super().exec_2_steps(*args, **options)

    def exec_3_steps(self, *args, **options) -> None:
        self.test_metrics = super().exec_3_steps(*args, **options)


class Gan(BookMethods, GanForms, _Gan):
    """Chapter 15: ``Gan(name, dataset, {'seed_shape': [16], 'generator': ..., 'discriminor': ...})``."""

    def __init__(self, name, dataset, hconfigs, show_maps=False, l2_decay=0, l1_decay=0, dump_structure=False,
                 **options):
        generator, actfunc = book_part(hconfigs.get("generator"), dataset.input_shape)
        discriminator, _ = book_part(hconfigs.get("discriminator", hconfigs.get("discriminor")), 1)
        if actfunc is not None and actfunc != "none":
            options.setdefault("output_actfunc", actfunc)
        super().__init__(dataset, hconfigs.get("seed_shape", [16]), generator, discriminator, name=name,
                         l2_decay=l2_decay, l1_decay=l1_decay, **_options(options))
        _done(self, dump_structure)
