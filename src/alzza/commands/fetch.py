"""``alzza fetch NAME... | --all | --list``: get the data sets into the data folder.

The work is in :mod:`alzza.data.store.fetch`; this module is the command line: its options,
and the ``--list`` table of every data set with its origin and how to get it.
"""

from __future__ import annotations

import argparse

from ..data.store.fetch import MIRROR_ENV, fetch
from ..data.store.locate import describe_rule, resolve_data_root
from ..data.store.sources import load_registry

EPILOG = f"""\
examples:
  alzza fetch pulsar abalone steel        the book's chapter 1-5 tables
  alzza fetch --all                       everything that can be downloaded
  alzza fetch --list                      every data set: origin, licence, how to get it
  alzza fetch mnist --mirror http://classroom.local/alzza-data

A mirror is any web server that serves a data folder: each file is fetched from
MIRROR/<its path in the data folder> and checked against the same hashes (a
recompressed .gz copy by its decompressed content). Every data set whose files alzza
knows can come from one, flowers (Kaggle needs an account) included; a file the data
sets run without (MNIST's 60k training files) may be missing there.
$ {MIRROR_ENV} sets a mirror for every fetch.

bounds: a file stops at the registry's size ($ALZZA_FETCH_MAX_BYTES, default 1G, where
it gives none; $ALZZA_FETCH_MARGIN, default 0.5, over an estimated size) and after
$ALZZA_FETCH_DEADLINE seconds (default 600); free space is checked first.
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "fetch", help="download data sets into the data folder, checked",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Download data sets from their origin (or a mirror) into the data folder; every file is "
                    "checked against the registry's hash before it is put in place.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="data sets to fetch (a name from --list, or an alzza data set such as pulsar-select)")
    parser.add_argument("--all", action="store_true", dest="all_sets", help="every data set that can be downloaded")
    parser.add_argument("--list", action="store_true", help="list every data set, its origin and how to get it")
    parser.add_argument("--data-dir", help="the data folder (else $ALZZA_DATA, else the per-user folder)")
    parser.add_argument("--mirror", metavar="URL", help=f"fetch from this served data folder (else ${MIRROR_ENV})")
    parser.add_argument("--registry", metavar="FILE", help="a data registry of your own (the format of "
                                                          "alzza/data/store/registry.yaml)")
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    return parser


def run(args, out=print) -> int:
    registry = load_registry(args.registry)
    if args.list:
        for line in list_lines(registry, args.data_dir):
            out(line)
        return 0
    if args.all_sets and args.names:
        from ..errors import DataError

        raise DataError("alzza fetch: give data set names or --all, not both")
    fetch(args.names, all_sets=args.all_sets, data_dir=args.data_dir, mirror=args.mirror, registry=registry,
          progress=False if args.no_progress else None, printer=out)
    return 0


def list_lines(registry, data_dir=None) -> list[str]:
    """The ``--list`` text: one block per data set."""
    root, rule = resolve_data_root(data_dir)
    lines = [f"data folder: {root} ({describe_rule(rule, root)})", ""]
    for source in registry.values():
        lines.append(f"{source.name} — {source.title}")
        lines.append(f"  alzza data sets: {', '.join(source.datasets)}")
        if source.files:
            for spec in source.files:
                size = f", {spec.size:,} bytes" if spec.size is not None else ""
                check = f"{spec.algorithm} {spec.digest}" if spec.algorithm else "no hash known"
                lines.append(f"  {spec.path}: {spec.url}{size}")
                lines.append(f"      {check}")
        elif source.archive is not None:
            lines.append(f"  {source.folder}/: from the release archive {source.archive.url}")
        elif source.listing is not None:
            lines.append(f"  {source.folder}/: {source.listing.count} files ({source.listing.bytes:,} bytes) from a "
                         f"mirror only: {source.listing.description}")
        elif source.homepage:
            lines.append(f"  origin: {source.homepage}")
        if source.homepage and source.downloadable:
            lines.append(f"  home page: {source.homepage}")
        lines.append(f"  checked by: {source.verification()}")
        lines.append(f"  licence: {source.licence}")
        lines.append(f"  cite: {source.citation}")
        if source.note:
            lines.append(f"  note: {source.note}")
        if source.also_reads:
            lines.append(f"  also reads: {source.also_reads}")
        if source.downloadable:
            lines.append(f"  how to get it: {source.how_to_get()}")
        else:
            lines.append(f"  layout: {source.layout or source.folder}")
            lines.append("  how to get it (by hand):")
            lines += ["    " + line for line in source.how_to_get().replace("DATA/", f"{root}/").splitlines()]
        lines.append("")
    return lines[:-1]
