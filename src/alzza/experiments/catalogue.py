"""Experiment files: reading, checking, and the catalogue of shipped experiments.

An experiment file (YAML) looks like::

    name: steel-mlp-12-6-4
    chapter: 4
    title: steel MLP [12, 6, 4]
    dataset: steel                # or {name: pulsar, balanced: true}
    model: {layers: [12, 6, 4]}   # + init, head, kind
    macros: {}                    # name -> spec, for ['custom', {'name': ...}]
    macro_files: [book9]          # shared macro files (alzza/experiments/macros/book9.yaml)
    train: {epochs: 50, batch_size: 10, learning_rate: 0.001, report: 10, optimizer: sgd}
                                  # + validate, early_stopping, lr_schedule, checkpoint_every,
                                  #   clip_norm (largest global gradient norm; optim.Optimizer.clip)
    book: {accuracy: 0.350, train_seconds: null}
    book_cell: chap04/mlp_test#7  # the book's cell this row reproduces (required for shipped rows)
    variant: "why it differs"     # only for rows that change the book's settings on purpose
    data_differs: "how"           # only for rows run on other data than the book's (stand-ins, MNIST 10k)
    pictures: [maps]              # extra pictures after training: maps, weights, attention

Every key is checked; a typo is reported with its path and the nearest known key.

``macro_files`` names shared macro files: a bare name (``book9``) is a file shipped in
``alzza/experiments/macros/``; a name ending in ``.yaml``/``.yml``/``.json`` is a path,
relative to the experiment file's folder. A macro file is a mapping of macro name →
spec. The files are merged in order, then the experiment's own ``macros`` on top, into
``Experiment.macros`` — so a built (and saved) model carries every macro it used.
"""

from __future__ import annotations

import copy
import difflib
import functools
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from ..device import DEVICES
from ..errors import ExperimentError, SpecError
from ..training.optimizers import make_optimizer
from ..limits import check_tree, max_spec_bytes, max_spec_depth, read_bounded_text

TOP_KEYS = {"name", "chapter", "title", "notes", "dataset", "model", "macros", "macro_files", "train", "book", "seed",
            "show", "pictures", "book_cell", "variant", "data_differs"}
#: ``book_cell``: the book's notebook and code-cell number, e.g. ``chap07/cnn_basic_test#5``
#: (the n-th code cell, from 0, of codes/chap07/cnn_basic_test.ipynb in the book's repository)
BOOK_CELL = re.compile(r"chap(0[1-9]|1[0-5])/[a-z0-9_]+_test#\d+")
MODEL_KEYS = {"kind", "layers", "init", "head"}
#: the keys of the model families (chapters 13–15), checked per kind by experiments/families.py
FAMILY_MODEL_KEYS = {"encoder", "decoder", "supervised", "fix_encoder", "autoencode", "hashing", "schedule",
                     "decoder_actfunc", "encoder_output", "beam",
                     "seed_shape", "generator", "discriminator", "discriminor"}
TRAIN_KEYS = {"epochs", "batch_size", "learning_rate", "report", "optimizer", "l2_decay", "l1_decay",
              "validate", "early_stopping", "lr_schedule", "checkpoint_every", "clip_norm",
              "device"}
TRAIN_DEFAULTS = {"epochs": 10, "batch_size": 10, "learning_rate": 0.001, "report": 0, "optimizer": "sgd",
                  "l2_decay": 0.0, "l1_decay": 0.0, "validate": "auto", "early_stopping": None,
                  "lr_schedule": None, "checkpoint_every": 0, "clip_norm": None,
                  "device": None}
#: extra pictures an experiment may ask for (drawn after training, see the runner)
PICTURES = {
    "maps": "conv kernels and feature maps of a few examples (maps.png)",
    "weights": "histograms of the weight matrices and kernels (weights.png)",
    "attention": "attention weights, layer × head, of a few examples over their tokens (attention.png)",
}
KINDS = ("network", "autoencoder", "encoder_decoder", "gan", "translator")


@dataclass
class Experiment:
    """A checked experiment description (plain data inside)."""

    name: str
    chapter: int | None
    title: str
    dataset: object
    layers: list
    train: dict
    book: dict = field(default_factory=dict)
    init: object = None
    head: dict = field(default_factory=dict)
    macros: dict = field(default_factory=dict)
    seed: int | None = None
    show: int = 3
    notes: str = ""
    kind: str = "network"
    source: str = ""
    macro_files: list = field(default_factory=list)
    pictures: list = field(default_factory=list)
    #: the whole ``model`` mapping (the families read their parts from it)
    model: dict = field(default_factory=dict)
    #: the book's cell this row reproduces (``chap07/cnn_basic_test#5``), None for a user's file
    book_cell: str | None = None
    #: why this row changes the book's settings on purpose ("" for a faithful row)
    variant: str = ""
    #: how the data differs from the book's ("" when it is the book's data)
    data_differs: str = ""
    #: a shipped row beyond the book (alzza/experiments/beyond/: no book cell, no book figures)
    beyond: bool = False

    @property
    def dataset_name(self) -> str:
        return self.dataset if isinstance(self.dataset, str) else str(self.dataset.get("name"))

    @property
    def shapes_only(self) -> bool:
        """A row on the ``dummy`` data set (shapes, no examples): built and counted, never trained."""
        return self.dataset_name == "dummy"


def _unknown(keys, known, where, source):
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ExperimentError(f"{source}: {where}{key}: unknown key{hint}; known keys: {', '.join(sorted(known))}")


def _expect(value, types, path, source, what):
    type_tuple = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, types) or isinstance(value, bool) and bool not in type_tuple:
        raise ExperimentError(f"{source}: {path}: must be {what}, got {value!r}")
    return value


def parse_experiment(data, source: str) -> Experiment:
    """Check a loaded experiment mapping and return an :class:`Experiment`."""
    if not isinstance(data, dict):
        raise ExperimentError(f"{source}: an experiment file is a mapping (name:, dataset:, model:, train: ...)")
    _unknown(data, TOP_KEYS, "", source)
    for key in ("name", "dataset", "model"):
        if key not in data:
            raise ExperimentError(f"{source}: the experiment needs '{key}'")
    name = check_run_name(_expect(data["name"], str, "name", source, "a string"), source)
    dataset = data["dataset"]
    if not isinstance(dataset, (str, dict)) or (isinstance(dataset, dict) and "name" not in dataset):
        raise ExperimentError(f"{source}: dataset: must be a name or a mapping with 'name', got {dataset!r}")
    model = _expect(data["model"], dict, "model", source, "a mapping with 'layers'")
    _unknown(model, MODEL_KEYS if model.get("kind", "network") == "network" else MODEL_KEYS | FAMILY_MODEL_KEYS,
             "model.", source)
    kind = model.get("kind", "network")
    if kind not in KINDS:
        raise ExperimentError(f"{source}: model.kind: {kind!r} is not available; known: {', '.join(KINDS)}")
    layers = model.get("layers", [])
    _expect(layers, list, "model.layers", source, "a list of layer specs")
    train = dict(TRAIN_DEFAULTS)
    given = data.get("train") or {}
    _expect(given, dict, "train", source, "a mapping")
    _unknown(given, TRAIN_KEYS, "train.", source)
    train.update(given)
    for key in ("epochs", "batch_size"):
        _at_least(_expect(train[key], int, f"train.{key}", source, "an integer"), 1, f"train.{key}", source)
    _at_least(_expect(train["report"], int, "train.report", source, "an integer"), 0, "train.report", source,
              " (0: report only at the end)")
    for key in ("learning_rate", "l2_decay", "l1_decay"):
        value = _expect(train[key], (int, float), f"train.{key}", source, "a number")
        if not math.isfinite(value) or value < 0 or (key == "learning_rate" and value == 0):
            what = "a finite number > 0" if key == "learning_rate" else "a finite number >= 0"
            raise ExperimentError(f"{source}: train.{key}: must be {what}, got {value!r}")
    _expect(train["checkpoint_every"], int, "train.checkpoint_every", source, "an integer (0: no checkpoints)")
    _at_least(train["checkpoint_every"], 0, "train.checkpoint_every", source, " (0: no checkpoints)")
    if train["device"] is not None and train["device"] not in DEVICES:
        raise ExperimentError(f"{source}: train.device: must be one of {', '.join(DEVICES)} (cuda needs "
                              f"alzza[gpu]), got {train['device']!r}")
    _check_training_options(train, source)
    if train["clip_norm"] is not None:  # a training option, carried out by the optimiser (optim.Optimizer.clip)
        optimizer = train["optimizer"]
        spec = {"name": optimizer} if isinstance(optimizer, str) else dict(_expect(
            optimizer, dict, "train.optimizer", source, "a name or a mapping with 'name'"))
        spec["clip_norm"] = train["clip_norm"]
        train["optimizer"] = spec
    try:
        make_optimizer(train["optimizer"], train["l2_decay"], train["l1_decay"])
    except SpecError as exc:
        raise ExperimentError(f"{source}: train.{exc.path}: {exc.detail}" if exc.path != "optimizer"
                              else f"{source}: train.optimizer: {exc.detail}") from None
    book = data.get("book") or {}
    _expect(book, dict, "book", source, "a mapping of metric name to the book's figure")
    _check_book(book, source)
    head = model.get("head") or {}
    _expect(head, dict, "model.head", source, "a mapping of head options")
    macros = data.get("macros") or {}
    _expect(macros, dict, "macros", source, "a mapping of macro name to spec")
    macro_files = data.get("macro_files") or []
    _expect(macro_files, list, "macro_files", source, "a list of macro file names")
    merged = {}
    for i, entry in enumerate(macro_files):
        merged.update(load_macro_file(entry, source, f"macro_files[{i}]"))
    merged.update(macros)
    macros = merged
    chapter = data.get("chapter")
    if chapter is not None:
        _expect(chapter, int, "chapter", source, "an integer")
    seed = data.get("seed")
    if seed is not None:
        _at_least(_expect(seed, int, "seed", source, "an integer"), 0, "seed", source)
    show = _at_least(_expect(data.get("show", 3), int, "show", source, "an integer"), 0, "show", source,
                     " (0: show no examples)")
    pictures = _pictures(data.get("pictures"), source)
    book_cell = data.get("book_cell")
    if book_cell is not None:
        _expect(book_cell, str, "book_cell", source, "a cell of the book's notebooks, e.g. chap07/cnn_basic_test#5")
        if not BOOK_CELL.fullmatch(book_cell):
            raise ExperimentError(f"{source}: book_cell: {book_cell!r} is not a cell of the book's notebooks; "
                                  f"write chapNN/<notebook>_test#<code cell from 0>, e.g. chap07/cnn_basic_test#5")
    variant = _expect(data.get("variant", ""), str, "variant", source, "a sentence on how it differs from the book")
    data_differs = _expect(data.get("data_differs", ""), str, "data_differs", source,
                           "a sentence on how the data differs from the book's")
    return Experiment(
        name=name, chapter=chapter, title=str(data.get("title", name)), dataset=copy.deepcopy(dataset),
        layers=copy.deepcopy(layers), train=train, book=dict(book), init=model.get("init"), head=dict(head),
        macros=copy.deepcopy(macros), seed=seed, show=show, notes=str(data.get("notes", "")), kind=kind,
        source=source, macro_files=list(macro_files), pictures=pictures,
        model=copy.deepcopy(model), book_cell=book_cell, variant=variant, data_differs=data_differs,
    )


def _at_least(value: int, low: int, path: str, source: str, hint: str = "") -> int:
    if value < low:
        raise ExperimentError(f"{source}: {path}: must be at least {low}{hint}, got {value!r}")
    return value


#: the book figures printed beside ours: a number, a number per head, or null
BOOK_FIGURES = ("accuracy", "precision", "recall", "f1", "parameters")


def _check_book(book: dict, source: str) -> None:
    """The book's figures are numbers (or lists of numbers, or null): checked now, not
    after training, when printing them would fail and lose the trained model."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    for key, value in book.items():
        if not isinstance(key, str):
            raise ExperimentError(f"{source}: book: keys are metric names, got {key!r}")
        if value is None:
            continue
        if key == "train_seconds":
            ok = number(value) or isinstance(value, str)
            what = "a number of seconds, a text like '387–1569', or null"
        elif key in BOOK_FIGURES or not isinstance(value, str):
            ok = number(value) or (isinstance(value, list) and value and all(number(v) for v in value))
            what = "a number, a list of numbers (one per head), or null"
        else:
            ok = True
        if not ok:
            raise ExperimentError(f"{source}: book.{key}: must be {what}, got {value!r}")


#: the longest experiment name (it becomes a folder name under runs/)
MAX_NAME_LENGTH = 100
_SAFE_NAME = re.compile(r"^[A-Za-z0-9가-힣][A-Za-z0-9가-힣_.+=-]*$")


def check_run_name(name: str, source: str) -> str:
    """An experiment name becomes ONE folder under ``runs/``: letters, digits, ``_ . + = -``.

    A shared experiment file must not choose where alzza writes (or deletes): no path
    separators, no ``..``, no absolute paths, no NUL or control characters, no
    over-long names.
    """
    if not name:
        raise ExperimentError(f"{source}: name: must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ExperimentError(f"{source}: name: {len(name)} characters, more than {MAX_NAME_LENGTH}")
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ExperimentError(
            f"{source}: name: {name!r} is not a safe folder name (runs/NAME): use letters, digits and "
            "'_', '.', '+', '=', '-', starting with a letter or digit; no '/', '\\', '..', NUL or spaces")
    return name


def _check_training_options(train: dict, source: str) -> None:
    """validate / early_stopping / lr_schedule checked now, so a typo fails before any training."""
    from ..errors import TrainingError
    from ..training.loop import default_callbacks

    validate = train["validate"]
    if validate not in ("auto", "full") and (isinstance(validate, bool) or not isinstance(validate, int)
                                             or validate < 1):
        raise ExperimentError(f"{source}: train.validate: must be 'full', 'auto' or a number of validation "
                              f"examples, got {validate!r}")
    try:
        default_callbacks(report=0, lr_schedule=train["lr_schedule"], early_stopping=train["early_stopping"])
    except TrainingError as exc:
        raise ExperimentError(f"{source}: train.{exc}") from None


def _pictures(value, source: str) -> list[str]:
    """The checked ``pictures`` list (a single name is accepted too)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    _expect(value, list, "pictures", source, f"a list of picture names ({', '.join(PICTURES)})")
    for i, name in enumerate(value):
        if name not in PICTURES:
            close = difflib.get_close_matches(str(name), list(PICTURES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = "; ".join(f"{key}: {text}" for key, text in PICTURES.items())
            raise ExperimentError(f"{source}: pictures[{i}]: unknown picture {name!r}{hint}; known: {known}")
    return list(dict.fromkeys(value))


MACRO_SUFFIXES = (".yaml", ".yml", ".json")


def shipped_macro_files() -> list[str]:
    """Names of the macro files shipped in ``alzza/experiments/macros/``."""
    folder = resources.files("alzza.experiments").joinpath("macros")
    if not folder.is_dir():
        return []
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def load_macro_file(entry, source: str = "", where: str = "macro_files") -> dict:
    """The macros (name → spec) of one macro file: a shipped name or a path (see module doc)."""
    if not isinstance(entry, str) or not entry:
        raise ExperimentError(f"{source}: {where}: must be a macro file name or path, got {entry!r}")
    if entry.endswith(MACRO_SUFFIXES):
        path = Path(entry)
        if not path.is_absolute() and source and Path(source).is_file():
            path = Path(source).parent / path
        if not path.is_file():
            raise ExperimentError(f"{source}: {where}: macro file {path} does not exist")
        try:
            text, label = read_bounded_text(path, "macro file", ExperimentError), str(path)
        except UnicodeDecodeError as exc:
            raise ExperimentError(f"{source}: {where}: {path} is not a text file ({exc.reason})") from None
    else:
        known = shipped_macro_files()
        if entry not in known:
            close = difflib.get_close_matches(entry, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ExperimentError(f"{source}: {where}: no shipped macro file {entry!r}{hint}; known: "
                                  f"{', '.join(known) or 'none'} (a path ending in .yaml names your own)")
        text, label = _shipped_macro_text(entry), f"alzza/experiments/macros/{entry}.yaml"
    return _parse_macros(text, label, source, where)


def _parse_macros(text: str, label: str, source: str, where: str) -> dict:
    try:
        data = copy.deepcopy(_load_yaml_cached(text, label))
    except yaml.YAMLError as exc:
        raise ExperimentError(f"{source}: {where}: {label} is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        raise ExperimentError(f"{source}: {where}: {label} must be a mapping of macro name to spec")
    return data


@functools.lru_cache(maxsize=8)
def _shipped_macro_text(entry: str) -> str:
    return resources.files("alzza.experiments").joinpath("macros", f"{entry}.yaml").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=8)
def _load_yaml_cached(text: str, label: str = "macro file"):
    """Parsed once per distinct text: every chapter 9 experiment names the same macro file."""
    return load_yaml(text, label)


#: above this nesting bound the C loader (whose composer recurses in C) is not used
C_LOADER_DEPTH = 2000


def _nesting_bound(text: str) -> int:
    """An upper bound on the YAML nesting depth of ``text``: its deepest indentation (block
    nesting needs a column per level; ``- `` items count) plus the deepest run of open
    brackets (flow nesting)."""
    longest = max((len(line) - len(line.lstrip(" -?:\t")) for line in text.splitlines()), default=0)
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    return longest + deepest


def load_yaml(text: str, where: str):
    """``yaml.safe_load`` that a hostile text can't crash or hang.

    The fast C loader is used when the text can't nest deeply (its composer recurses in
    C and would crash the process); otherwise the Python loader, whose RecursionError
    becomes a clear error. The result is then walked once: cycles (an anchor used inside
    itself), nesting beyond ALZZA_MAX_SPEC_DEPTH and alias bombs (more than
    ALZZA_MAX_SPEC_NODES values once aliases are expanded) are refused.
    """
    if len(text) > max_spec_bytes():
        raise ExperimentError(f"{where}: larger than the limit of {max_spec_bytes()} bytes (ALZZA_MAX_SPEC_BYTES)")
    fast = getattr(yaml, "CSafeLoader", None)
    loader = fast if fast is not None and _nesting_bound(text) <= C_LOADER_DEPTH else yaml.SafeLoader
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 — a SafeLoader (C or Python)
    except RecursionError:
        raise ExperimentError(f"{where}: nests too deeply to read (ALZZA_MAX_SPEC_DEPTH is "
                              f"{max_spec_depth()})") from None
    check_tree(data, where, ExperimentError)
    return data


def load_experiment_file(path) -> Experiment:
    """Read and check one experiment file (YAML or JSON)."""
    path = Path(path)
    if not path.is_file():
        raise ExperimentError(f"experiment file {path} does not exist")
    try:
        data = load_yaml(read_bounded_text(path, "experiment file", ExperimentError), str(path))
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        raise ExperimentError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    except UnicodeDecodeError as exc:
        raise ExperimentError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ExperimentError(f"{path}: cannot read the experiment file: {exc.strerror or exc}") from None
    return parse_experiment(data, str(path))


#: the folders of shipped experiments: the book's rows, and the rows beyond the book (chapter 16 on)
SHIPPED_FOLDERS = ("book", "beyond")


def shipped_file(source: str):
    """The packaged file behind a shipped experiment's ``source``
    (``alzza/experiments/<book or beyond>/NAME.yaml``), or None for a user's file."""
    parts = Path(source).parts
    if len(parts) == 4 and parts[:2] == ("alzza", "experiments") and parts[2] in SHIPPED_FOLDERS:
        return resources.files("alzza.experiments").joinpath(parts[2], parts[3])
    return None


def _shipped_files():
    entries = []
    for folder_name in SHIPPED_FOLDERS:
        folder = resources.files("alzza.experiments").joinpath(folder_name)
        if folder.is_dir():
            entries += [(folder_name, entry) for entry in folder.iterdir() if entry.name.endswith(".yaml")]
    return sorted(entries, key=lambda e: e[1].name)


def _shipped_experiment(entry, folder: str = "book") -> Experiment:
    data = yaml.safe_load(entry.read_text(encoding="utf-8"))
    exp = parse_experiment(data, f"alzza/experiments/{folder}/{entry.name}")
    exp.beyond = folder == "beyond"
    if exp.book_cell is None and not exp.beyond:  # every shipped book row names the book's cell it reproduces
        raise ExperimentError(f"{exp.source}: a shipped experiment needs book_cell (e.g. chap07/cnn_basic_test#5)")
    if exp.beyond and (exp.book_cell is not None or exp.book):
        raise ExperimentError(f"{exp.source}: a row beyond the book has no book_cell and no book figures")
    if entry.name != f"{exp.name}.yaml":  # find_experiment reads NAME.yaml alone
        raise ExperimentError(f"{exp.source}: a shipped experiment's file is named after it ({exp.name}.yaml)")
    return exp


def list_experiments() -> list[Experiment]:
    """Every shipped experiment, ordered by chapter then name."""
    experiments = [_shipped_experiment(entry, folder) for folder, entry in _shipped_files()]
    return sorted(experiments, key=lambda e: (e.chapter or 0, e.name))


def find_experiment(name_or_path) -> Experiment:
    """A shipped experiment by name, or an experiment file by path."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml", ".json")) or Path(text).is_file():
        return load_experiment_file(text)
    # A shipped experiment lives in NAME.yaml: read that one file, not all of them.
    for folder in SHIPPED_FOLDERS:
        entry = resources.files("alzza.experiments").joinpath(folder, f"{text}.yaml")
        if "/" not in text and "\\" not in text and entry.is_file():
            return _shipped_experiment(entry, folder)
    experiments = {e.name: e for e in list_experiments()}
    if text in experiments:
        return experiments[text]
    close = difflib.get_close_matches(text, list(experiments), n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ExperimentError(f"no experiment named {text!r}.{hint} 'alzza list' shows them all; "
                          "a path to a .yaml file runs your own.")
