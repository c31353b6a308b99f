"""The data sets: each module registers its sets by name (``@register_dataset``, options and
shapes declared there, once) and builds :class:`~alzza.data.dataset.Dataset` objects from
the readers' arrays or from a generator."""
