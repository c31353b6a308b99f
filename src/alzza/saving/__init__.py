"""Saving and loading: model files (JSON description + arrays in one ``.npz``), the
bounded reader of hostile ``.npz`` archives, and atomic writes.

- :mod:`.model_files` — ``save`` / ``load`` of models (what ``alzza.load`` calls);
- :mod:`.npz` — reading ``.npz`` archives bounded, checked, never unpickled;
- :mod:`.atomic` — a temp file beside the target, then ``os.replace``.
"""
