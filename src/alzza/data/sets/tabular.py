"""The book's tabular data sets: abalone, pulsar, pulsar-select and steel.

Each reads one CSV from the data folder (see :mod:`alzza.data.store.locate`), turns its
columns into inputs and targets as the book does, and splits by the book's rule. Every
one takes ``standardize`` (default ``False``, the book's setting): z-score the inputs
with the training split's statistics only; its name then ends in ``-std``. Targets are
never touched. abalone, pulsar and steel also take ``split``: ``80/5/15`` (chapter 5's
train / validate / test, the default) or ``80/20`` (chapters 1–4: ``int(n * 0.8) //
split_multiple * split_multiple`` train, the rest test, and each epoch's figure on the
test split; ``split_multiple`` is the book's ``mb_size``, default 10).

- abalone (ch. 1, 4, 5): Sex one-hot in the order I, M, F + 7 measures → Rings
  (regression).
- pulsar (ch. 2, 4, 5): 8 statistics → target_class (binary). ``balanced`` is the
  book's oversampling: all stars, then pulsars repeated cyclically until there are as
  many pulsars as stars; the split comes after balancing, as in the book.
- pulsar-select (ch. 5): the same, with targets one-hot [star, pulsar] (select).
- steel (ch. 3, 4, 5): 27 measures → one of 7 fault types, the last 7 columns one-hot
  (select); the class names come from the header.

Each also reads the file UCI itself serves, when the book's copy is not in the data
folder: ``abalone.data`` (comma-separated, no header row), ``HTRU_2.csv``
(comma-separated, no header row) and ``Faults.NNA`` (tab-separated, no header row; its
column names are UCI's separate ``Faults27x7_var``). Their columns are in the same
order as the book's copies (UCI's variable tables), so they are read with the book's
column names. The book's file wins when both are there.
"""

from __future__ import annotations

import numpy as np

from ...backend import make_rng
from ...errors import DataError
from ...options import Option
from ..readers.csv_reader import CsvTable, read_csv
from ..dataset import Dataset, declared, format_values
from ..store.locate import find_data_file
from ..registry import checked_option, register_dataset

ABALONE_SOURCE = ('UCI Machine Learning Repository "Abalone" (CC BY 4.0) — '
                  "https://archive.ics.uci.edu/dataset/1/abalone")
PULSAR_SOURCE = ('UCI Machine Learning Repository "HTRU2" (CC BY 4.0) — '
                 "https://archive.ics.uci.edu/dataset/372/htru2")
STEEL_SOURCE = ('UCI Machine Learning Repository "Steel Plates Faults" (CC BY 4.0) — '
                "https://archive.ics.uci.edu/dataset/198/steel+plates+faults")

ABALONE_FILE = "abalone.csv"
PULSAR_FILE = "pulsar_stars.csv"
STEEL_FILE = "faults.csv"

#: UCI's own files: (file name, column names = the book's header, delimiter; None = whitespace)
ABALONE_UCI = ("abalone.data", ["Sex", "Length", "Diameter", "Height", "Whole weight", "Shucked weight",
                                "Viscera weight", "Shell weight", "Rings"], ",")
PULSAR_UCI = ("HTRU_2.csv", ["Mean of the integrated profile", "Standard deviation of the integrated profile",
                             "Excess kurtosis of the integrated profile", "Skewness of the integrated profile",
                             "Mean of the DM-SNR curve", "Standard deviation of the DM-SNR curve",
                             "Excess kurtosis of the DM-SNR curve", "Skewness of the DM-SNR curve",
                             "target_class"], ",")
STEEL_UCI = ("Faults.NNA", ["X_Minimum", "X_Maximum", "Y_Minimum", "Y_Maximum", "Pixels_Areas", "X_Perimeter",
                            "Y_Perimeter", "Sum_of_Luminosity", "Minimum_of_Luminosity", "Maximum_of_Luminosity",
                            "Length_of_Conveyer", "TypeOfSteel_A300", "TypeOfSteel_A400",
                            "Steel_Plate_Thickness", "Edges_Index", "Empty_Index", "Square_Index",
                            "Outside_X_Index", "Edges_X_Index", "Edges_Y_Index", "Outside_Global_Index",
                            "LogOfAreas", "Log_X_Index", "Log_Y_Index", "Orientation_Index", "Luminosity_Index",
                            "SigmoidOfAreas", "Pastry", "Z_Scratch", "K_Scatch", "Stains", "Dirtiness", "Bumps",
                            "Other_Faults"], None)

SEX_ORDER = ("I", "M", "F")  # the book's one-hot order
STEEL_INPUTS, STEEL_CLASSES = 27, 7


def _variant(name: str, *, balanced: bool = False, standardize: bool = False) -> str:
    return name + ("-balanced" if balanced else "") + ("-std" if standardize else "")


# --------------------------------------------------------------------------- shapes (declared once)
def abalone_shapes(standardize: bool = False, **_split) -> dict:
    """abalone's name, mode and shapes from its options (the constructor and summaries read these)."""
    return {"name": _variant("abalone", standardize=standardize), "mode": "regression",
            "input_shape": (10,), "output_shape": (1,)}


def pulsar_shapes(balanced: bool = False, standardize: bool = False, **_split) -> dict:
    """pulsar's name, mode, shapes and class names from its options."""
    return {"name": _variant("pulsar", balanced=balanced, standardize=standardize), "mode": "binary",
            "input_shape": (8,), "output_shape": (1,), "target_names": ["star", "pulsar"]}


def pulsar_select_shapes(balanced: bool = False, standardize: bool = False) -> dict:
    """pulsar-select's name, mode, shapes and class names from its options."""
    return {"name": _variant("pulsar-select", balanced=balanced, standardize=standardize), "mode": "select",
            "input_shape": (8,), "output_shape": (2,), "target_names": ["star", "pulsar"]}


def steel_shapes(standardize: bool = False, **_split) -> dict:
    """steel's name, mode and shapes; the class names are UCI's (the constructor reads the file's header)."""
    return {"name": _variant("steel", standardize=standardize), "mode": "select",
            "input_shape": (STEEL_INPUTS,), "output_shape": (STEEL_CLASSES,),
            "target_names": STEEL_UCI[1][STEEL_INPUTS:]}


def _read(dataset: str, relative: str, source: str, data_dir, columns: int,
          converters=None, uci=None) -> CsvTable:
    """The book's CSV (with a header row), else UCI's header-less file ``uci``, else the missing-file error."""
    try:
        path = find_data_file(relative, data_dir, dataset=dataset, source=source)
    except DataError as missing:
        if uci is None:
            raise
        name, names, delimiter = uci
        try:
            uci_path = find_data_file(name, data_dir, dataset=dataset, source=source)
        except DataError:
            raise DataError(f"{missing}\n  (UCI's own file {name}, without a header row, is read too "
                            "when it is there)") from None
        return read_csv(uci_path, converters=converters, names=names, delimiter=delimiter)
    return read_csv(path, converters=converters, expected_columns=columns)


STANDARDIZE = Option(bool, False, doc="z-score inputs with training-split statistics")
BALANCED = Option(bool, False, doc="oversample pulsars to match the stars (book ch. 2)")
#: chapters 1–4 split 80 / 20 and report each epoch on the test split; chapter 5 splits 80 / 5 / 15
SPLIT = Option(str, "80/5/15", choices=("80/5/15", "80/20"),
               doc="80/5/15 (chapter 5: train / validate / test) or 80/20 (chapters 1–4: train / test, "
                   "each epoch's figure on the test split)")
SPLIT_MULTIPLE = Option(int, 10, check=lambda v: v >= 1, expects="at least 1",
                        doc="80/20 only: the training count is rounded down to a multiple of this "
                            "(the book's mb_size)")
SPLIT_OPTIONS = {"split": SPLIT, "split_multiple": SPLIT_MULTIPLE}


def _split_setting(split: str, split_multiple: int) -> dict:
    # make_dataset checks specs; this guards direct Python construction too
    split = checked_option(split, SPLIT, "split")
    return {"test_is_validate": split == "80/20",
            "multiple": checked_option(split_multiple, SPLIT_MULTIPLE, "split_multiple")}


class TabularDataset(Dataset):
    """A data set read from one CSV; adds the shared ``standardize`` step."""

    def _finish(self, xs, ys, rng, standardize: bool, split: str = "80/5/15", split_multiple: int = 10) -> None:
        if split == "80/5/15":
            self._split(xs, ys, rng)
        else:
            self._split(xs, ys, rng, **_split_setting(split, split_multiple))
        if standardize:
            self._standardize_inputs()


# --------------------------------------------------------------------------- abalone
def _sex_code(text: str) -> float:
    letter = text.upper()
    if letter not in SEX_ORDER:
        raise ValueError(f"sex must be one of {', '.join(SEX_ORDER)}")
    return float(SEX_ORDER.index(letter))


@register_dataset("abalone", options={"standardize": STANDARDIZE, **SPLIT_OPTIONS}, shapes=declared(abalone_shapes),
                  summary="abalone.csv: sex + 7 measures → ring count (regression)")
class AbaloneDataset(TabularDataset):
    """abalone.csv: Sex one-hot (I, M, F) + 7 measures (10 inputs) → Rings (regression)."""

    def __init__(self, data_dir=None, rng=None, standardize: bool = False, split: str = "80/5/15",
                 split_multiple: int = 10):
        standardize = checked_option(standardize, STANDARDIZE, "standardize")
        super().__init__(**abalone_shapes(standardize), source=ABALONE_SOURCE)
        table = _read("abalone", ABALONE_FILE, ABALONE_SOURCE, data_dir, 9,
                      converters={0: _sex_code}, uci=ABALONE_UCI)
        values = table.values
        sex = np.eye(len(SEX_ORDER), dtype=np.float32)[values[:, 0].astype(np.int64)]
        xs = np.concatenate([sex, values[:, 1:8]], axis=1)
        self.input_names = [f"Sex={s}" for s in SEX_ORDER] + table.header[1:8]
        self._finish(xs, values[:, 8:9], make_rng(rng), standardize, split, split_multiple)

    def describe_input(self, x_row) -> str:
        """'I 0.455 0.365 ...': the sex letter decoded from its one-hot, then the measures."""
        row = self.original_input(x_row)
        sex = row[:3]
        letter = SEX_ORDER[int(np.argmax(sex))] if np.max(sex) > 0.5 else "?"
        return f"{letter} {format_values(row[3:])}"


# --------------------------------------------------------------------------- pulsar
def _load_pulsar(dataset: str, data_dir, balanced: bool) -> tuple[np.ndarray, np.ndarray, list]:
    """Inputs (n, 8) and 0/1 labels (n,) of pulsar_stars.csv, balanced if asked."""
    table = _read(dataset, PULSAR_FILE, PULSAR_SOURCE, data_dir, 9, uci=PULSAR_UCI)
    xs, labels = table.values[:, :8], table.values[:, 8]
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if len(bad):
        row = int(bad[0])
        raise DataError(f"{table.path}: {table.where(row)}, column '{table.header[8]}': "
                        f"the class must be 0 or 1, found {format_values(labels[row:row + 1])}")
    if balanced:
        stars, pulsars = xs[labels == 0], xs[labels == 1]
        if len(pulsars) == 0:
            raise DataError(f"{table.path}: cannot balance: the file has no pulsars "
                            f"(no row with {table.header[8]} = 1)")
        # the book's oversampling: every star, then pulsars[i % n_pulsars] for each star
        repeated = pulsars[np.arange(len(stars)) % len(pulsars)]
        xs = np.concatenate([stars, repeated])
        labels = np.concatenate([np.zeros(len(stars), np.float32),
                                 np.ones(len(repeated), np.float32)])
    return xs, labels, table.header[:8]


@register_dataset("pulsar", options={"balanced": BALANCED, "standardize": STANDARDIZE, **SPLIT_OPTIONS},
                  shapes=declared(pulsar_shapes),
                  summary="pulsar_stars.csv (HTRU2): 8 statistics → pulsar or not (binary)")
class PulsarDataset(TabularDataset):
    """pulsar_stars.csv (HTRU2): 8 statistics → pulsar or not (binary, one logit)."""

    def __init__(self, data_dir=None, rng=None, balanced: bool = False,
                 standardize: bool = False, split: str = "80/5/15", split_multiple: int = 10):
        balanced = checked_option(balanced, BALANCED, "balanced")
        standardize = checked_option(standardize, STANDARDIZE, "standardize")
        super().__init__(**pulsar_shapes(balanced, standardize), source=PULSAR_SOURCE)
        xs, labels, self.input_names = _load_pulsar("pulsar", data_dir, balanced)
        self._finish(xs, labels[:, None], make_rng(rng), standardize, split, split_multiple)


@register_dataset("pulsar-select", options={"balanced": BALANCED, "standardize": STANDARDIZE},
                  shapes=declared(pulsar_select_shapes),
                  summary="pulsar_stars.csv as two classes star / pulsar (select)")
class PulsarSelectDataset(TabularDataset):
    """pulsar_stars.csv as two classes: targets one-hot [star, pulsar] (select)."""

    def __init__(self, data_dir=None, rng=None, balanced: bool = False,
                 standardize: bool = False):
        balanced = checked_option(balanced, BALANCED, "balanced")
        standardize = checked_option(standardize, STANDARDIZE, "standardize")
        super().__init__(**pulsar_select_shapes(balanced, standardize), source=PULSAR_SOURCE)
        xs, labels, self.input_names = _load_pulsar("pulsar-select", data_dir, balanced)
        ys = np.stack([1.0 - labels, labels], axis=1)
        self._finish(xs, ys, make_rng(rng), standardize)


# --------------------------------------------------------------------------- steel
@register_dataset("steel", options={"standardize": STANDARDIZE, **SPLIT_OPTIONS}, shapes=declared(steel_shapes),
                  summary="faults.csv: 27 measures → one of 7 fault types (select)")
class SteelDataset(TabularDataset):
    """faults.csv: 27 measures → one of 7 fault types (select); names from the header."""

    def __init__(self, data_dir=None, rng=None, standardize: bool = False, split: str = "80/5/15",
                 split_multiple: int = 10):
        standardize = checked_option(standardize, STANDARDIZE, "standardize")
        columns = STEEL_INPUTS + STEEL_CLASSES
        table = _read("steel", STEEL_FILE, STEEL_SOURCE, data_dir, columns, uci=STEEL_UCI)
        # the class names of the file read (the book's header or UCI's names), not the declared ones
        super().__init__(**{**steel_shapes(standardize), "target_names": table.header[STEEL_INPUTS:]},
                         source=STEEL_SOURCE)
        xs, ys = table.values[:, :STEEL_INPUTS], table.values[:, STEEL_INPUTS:]
        valid = np.all((ys == 0) | (ys == 1), axis=1) & (ys.sum(axis=1) == 1)
        bad = np.flatnonzero(~valid)
        if len(bad):
            row = int(bad[0])
            names = ", ".join(self.target_names)
            raise DataError(
                f"{table.path}: {table.where(row)}: the fault columns ({names}) must hold "
                f"exactly one 1 and six 0s, found {format_values(ys[row])}"
                + (f" ({len(bad)} such rows)" if len(bad) > 1 else ""))
        self.input_names = table.header[:STEEL_INPUTS]
        self._finish(xs, ys, make_rng(rng), standardize, split, split_multiple)
