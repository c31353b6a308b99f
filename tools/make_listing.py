"""Write a data-folder listing for the registry (``listing:`` of a folder data set).

    python tools/make_listing.py /work/shared/data flowers > src/alzza/data/listings/flowers.txt

prints nothing else; then ``--hashes`` prints the two SHA-256s the registry entry records:
the listing file's own and the manifest's (the sorted lines ``"<sha256>  <path>"``, the
check alzza fetch applies to a downloaded folder).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path


def entries(folder: Path) -> list[tuple[str, int]]:
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_size) for p in folder.rglob("*") if p.is_file())


def main(argv: list[str]) -> int:
    root, name = Path(argv[0]), argv[1]
    folder = root / name
    listing = "".join(f"{size} {path}\n" for path, size in entries(folder))
    if "--hashes" in argv:
        manifest = "".join(f"{hashlib.sha256((folder / path).read_bytes()).hexdigest()}  {path}\n"
                           for path, _ in entries(folder))
        print(f"sha256: {hashlib.sha256(listing.encode()).hexdigest()}")
        print(f"manifest_sha256: {hashlib.sha256(manifest.encode()).hexdigest()}")
        return 0
    sys.stdout.write(listing)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
