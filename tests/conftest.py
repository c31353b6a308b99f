"""Shared fixtures: small data files written in the real formats.

Tests must pass without the real data folder, so they write tiny files with the same
headers, separators and line endings as the real ones (abalone.csv: ``\\n``;
pulsar_stars.csv: ``\\r\\n`` and a header with leading spaces; faults.csv: 27 measures
then 7 one-hot columns) into ``tmp_path``.

- ``tabular_files``: a :class:`TabularFiles` with ``abalone(folder, ...)``,
  ``pulsar(folder, ...)``, ``faults(folder, ...)`` writers, the real headers, and
  ``write(path, header, rows, newline)`` for hand-written files.
- ``tabular_data_dir``: a folder holding all three files (60 abalone, 80 pulsar
  candidates of which 12 pulsars, 70 steel plates covering all 7 faults).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ABALONE_HEADER = ["Sex", "Length", "Diameter", "Height", "Whole weight", "Shucked weight",
                  "Viscera weight", "Shell weight", "Rings"]
PULSAR_HEADER = [
    " Mean of the integrated profile", " Standard deviation of the integrated profile",
    " Excess kurtosis of the integrated profile", " Skewness of the integrated profile",
    " Mean of the DM-SNR curve", " Standard deviation of the DM-SNR curve",
    " Excess kurtosis of the DM-SNR curve", " Skewness of the DM-SNR curve", "target_class"]
STEEL_INPUT_HEADER = [
    "X_Minimum", "X_Maximum", "Y_Minimum", "Y_Maximum", "Pixels_Areas", "X_Perimeter",
    "Y_Perimeter", "Sum_of_Luminosity", "Minimum_of_Luminosity", "Maximum_of_Luminosity",
    "Length_of_Conveyer", "TypeOfSteel_A300", "TypeOfSteel_A400", "Steel_Plate_Thickness",
    "Edges_Index", "Empty_Index", "Square_Index", "Outside_X_Index", "Edges_X_Index",
    "Edges_Y_Index", "Outside_Global_Index", "LogOfAreas", "Log_X_Index", "Log_Y_Index",
    "Orientation_Index", "Luminosity_Index", "SigmoidOfAreas"]
STEEL_FAULTS = ["Pastry", "Z_Scratch", "K_Scatch", "Stains", "Dirtiness", "Bumps",
                "Other_Faults"]


class TabularFiles:
    """Writers of small CSV files in the formats of the real tabular data sets."""

    abalone_header = ABALONE_HEADER
    pulsar_header = PULSAR_HEADER
    steel_header = STEEL_INPUT_HEADER + STEEL_FAULTS
    steel_faults = STEEL_FAULTS

    @staticmethod
    def write(path, header, rows, newline: str = "\n") -> Path:
        """Write ``header`` and ``rows`` (lists of values or ready strings) as CSV text."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [",".join(header)]
        lines += [row if isinstance(row, str) else ",".join(str(v) for v in row)
                  for row in rows]
        path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
        return path

    def abalone(self, folder, count: int = 60, seed: int = 0) -> Path:
        """abalone.csv: sexes cycle M, F, I; measures like the real ones; integer rings."""
        rng = np.random.default_rng(seed)
        rows = []
        for n in range(count):
            measures = np.round(rng.uniform(0.01, 1.0, size=7), 4)
            rows.append(["MFI"[n % 3], *measures.tolist(), int(rng.integers(1, 30))])
        return self.write(Path(folder) / "abalone.csv", ABALONE_HEADER, rows)

    def pulsar(self, folder, stars: int = 68, pulsars: int = 12, seed: int = 0) -> Path:
        """pulsar_stars.csv (CRLF, spaced header): stars first mixed with pulsars."""
        rng = np.random.default_rng(seed)
        labels = np.array([0] * stars + [1] * pulsars)
        rng.shuffle(labels)
        rows = []
        for label in labels:
            stats = rng.normal(100.0 if label == 0 else 20.0, 15.0, size=8).round(8)
            rows.append([*stats.tolist(), int(label)])
        return self.write(Path(folder) / "pulsar_stars.csv", PULSAR_HEADER, rows, "\r\n")

    def faults(self, folder, count: int = 70, seed: int = 0) -> Path:
        """faults.csv: 27 measures (integers and fractions) then the fault one-hot."""
        rng = np.random.default_rng(seed)
        rows = []
        for n in range(count):
            x_min = int(rng.integers(0, 1700))
            a300 = int(rng.integers(0, 2))
            measures = [x_min, x_min + int(rng.integers(1, 50)), int(rng.integers(0, 13e6)),
                        int(rng.integers(0, 13e6)), int(rng.integers(2, 1e5)),
                        *rng.integers(2, 500, size=6).tolist(), a300, 1 - a300,
                        int(rng.integers(40, 300)),
                        *np.round(rng.uniform(-1, 5, size=13), 4).tolist()]
            fault = [0] * 7
            fault[n % 7] = 1
            rows.append(measures + fault)
        return self.write(Path(folder) / "faults.csv", self.steel_header, rows)


@pytest.fixture
def tabular_files() -> TabularFiles:
    """Writers of small abalone / pulsar / faults CSV files in the real formats."""
    return TabularFiles()


@pytest.fixture
def tabular_data_dir(tmp_path, tabular_files) -> Path:
    """A data folder with small abalone.csv, pulsar_stars.csv and faults.csv."""
    folder = tmp_path / "data"
    tabular_files.abalone(folder)
    tabular_files.pulsar(folder)
    tabular_files.faults(folder)
    return folder
