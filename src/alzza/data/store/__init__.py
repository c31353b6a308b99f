"""The store: where data files live (``locate``), where they come from and their hashes
(``sources`` over ``registry.yaml``), downloading them (``fetch``), and the disk cache of
expensive conversions (``cache``)."""
