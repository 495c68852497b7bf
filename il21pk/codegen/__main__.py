"""``python -m il21pk.codegen``: rewrite every committed generated artefact."""

from __future__ import annotations

from .artefacts import write

if __name__ == "__main__":
    for path in write():
        print(path)
