"""The book's experiments as data files, and the runner that executes them."""

from .catalogue import Experiment, find_experiment, list_experiments, load_experiment_file
from .runner import run_experiment

__all__ = ["Experiment", "find_experiment", "list_experiments", "load_experiment_file", "run_experiment"]
