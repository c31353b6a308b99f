"""Read a CSV file with a header row into a float32 table.

A reader turns a file into arrays; it knows nothing of splits, targets or modes (those
belong to the data set). It uses the standard library's ``csv`` module, strips the
whitespace around header names and values (the HTRU2 header has leading spaces), and
converts every value to float32. Categorical columns (abalone's Sex) take a per-column
converter. Anything malformed raises one :class:`DataError` naming the file, the data
row (1-based, header excluded) and its line in the file, the column and the bad text,
so a user can open the file at that line and see the problem. Non-finite values (``nan``,
``inf``, or numbers too big for float32) are refused the same way.

Files without a header row (UCI's own ``abalone.data``, ``HTRU_2.csv``, ``Faults.NNA``)
are read by giving the column names (``names=``); ``delimiter=None`` splits each line
on runs of whitespace (tabs or spaces, as in ``Faults.NNA``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import DataError

Converter = Callable[[str], float]
#: the largest float32; a bigger value would become inf in the table
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class CsvTable:
    """The contents of a CSV file: column names and a (rows, columns) float32 array."""

    path: Path
    header: list[str]
    values: np.ndarray
    line_numbers: np.ndarray  # the file line of each data row (1-based), for later messages

    def column(self, name: str) -> np.ndarray:
        """The values of the column called ``name``."""
        return self.values[:, self.header.index(name)]

    def where(self, row_index: int) -> str:
        """'data row R (line L)' for a 0-based row index, for messages about values."""
        return f"data row {row_index + 1} (line {int(self.line_numbers[row_index])})"


class _WhitespaceRows:
    """Rows split on runs of whitespace, with the csv reader's ``line_num`` (for messages)."""

    def __init__(self, handle):
        self._lines = iter(handle)
        self.line_num = 0

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        line = next(self._lines)
        self.line_num += 1
        return line.split()


def read_csv(path, converters: Mapping[str | int, Converter] | None = None,
             expected_columns: int | None = None, names: list[str] | None = None,
             delimiter: str | None = ",") -> CsvTable:
    """Read ``path`` (a CSV with a header row) into a :class:`CsvTable`.

    ``names``: the file has no header row and these are its columns (the first line is
    data). ``delimiter``: the field separator, or None for runs of whitespace.

    ``converters`` maps a column name (as in the stripped header) or a 0-based column
    index to a function from the stripped text to a number; it signals a bad value by
    raising ``ValueError`` or ``KeyError`` (its message is added to the error). Other
    columns are parsed with ``float``. ``expected_columns``, when given, is checked against the header so a
    file of the wrong kind is reported before its rows are read. Blank lines are
    skipped.
    """
    path = Path(path)
    converters = dict(converters or {})
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter) if delimiter else _WhitespaceRows(handle)
            return _read(path, reader, converters, expected_columns, names)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: is not a UTF-8 text CSV file ({exc.reason} "
                        f"at byte {exc.start})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV: {exc}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from None


def _read(path: Path, reader, converters: dict, expected_columns: int | None,
          names: list[str] | None) -> CsvTable:
    header = list(names) if names is not None else None
    if header is None:
        for fields in reader:
            if _blank(fields):
                continue
            header = [name.strip() for name in fields]
            break
        if header is None:
            raise DataError(f"{path}: the file is empty; expected a header row and data rows")
        _check_header(path, header, expected_columns, reader.line_num)
    unknown = [key for key in converters
               if key not in header and not (isinstance(key, int) and 0 <= key < len(header))]
    if unknown:
        raise DataError(f"{path}: no column {', '.join(map(repr, unknown))} "
                        f"in the header ({', '.join(header)})")
    parsers = [converters.get(index, converters.get(name, float))
               for index, name in enumerate(header)]

    rows: list[list[float]] = []
    lines: list[int] = []
    width = len(header)
    for fields in reader:
        if _blank(fields):
            continue
        row_number, line = len(rows) + 1, reader.line_num
        if len(fields) != width:
            expected = "the header has" if names is None else "expected"
            raise DataError(
                f"{path}: data row {row_number} (line {line}) has {len(fields)} values; "
                f"{expected} {width} columns ({', '.join(header)})")
        row = []
        for name, parse, text in zip(header, parsers, fields, strict=False):
            text = text.strip()
            try:
                value = float(parse(text))
            except (ValueError, KeyError, TypeError, OverflowError) as exc:
                why = "" if parse is float else f" ({_reason(exc)})"
                if names is not None and row_number == 1 and _numeric_count(fields) <= 1:
                    why += ("; this line looks like a header row, but this file is read without one "
                            "(by column position)")
                raise DataError(
                    f"{path}: data row {row_number} (line {line}), column '{name}': "
                    f"cannot read {text!r} as a value{why}") from None
            # float() reads 'nan', 'inf' and '1e999' too; float32 overflows past 3.4e38
            if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
                raise DataError(
                    f"{path}: data row {row_number} (line {line}), column '{name}': {text!r} is not a "
                    "finite number (NaN and inf can't be learned from); fix or remove that row")
            row.append(value)
        rows.append(row)
        lines.append(line)
    if not rows:
        raise DataError(f"{path}: has no data rows" if names is not None
                        else f"{path}: has a header row but no data rows")
    values = np.asarray(rows, dtype=np.float32)
    return CsvTable(path=path, header=header, values=values,
                    line_numbers=np.asarray(lines, dtype=np.int64))


def _numeric_count(fields: list[str]) -> int:
    numeric = 0
    for text in fields:
        try:
            float(text)
            numeric += 1
        except ValueError:
            pass
    return numeric


def _check_header(path: Path, header: list[str], expected: int | None, line: int) -> None:
    """A header that parses as numbers means the file has none: say so, not 'bad row'."""
    numeric = _numeric_count(header)
    if numeric == len(header) or (len(header) >= 3 and numeric >= len(header) - 1):
        raise DataError(f"{path}: line {line} looks like data, not a header row; "
                        f"the file must start with a row of column names")
    if expected is not None and len(header) != expected:
        raise DataError(f"{path}: the header has {len(header)} columns, expected "
                        f"{expected} ({', '.join(header)})")


def _blank(fields: list[str]) -> bool:
    return not fields or (len(fields) == 1 and not fields[0].strip())


def _reason(exc: Exception) -> str:
    text = exc.args[0] if exc.args else type(exc).__name__
    return str(text)
