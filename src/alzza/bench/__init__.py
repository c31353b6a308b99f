"""Benchmarks: alzza against PyTorch, one training step per example (the harness is :mod:`.harness`)."""
