"""``python -m rlm``: the same as the ``rlm`` command."""

from __future__ import annotations

from rlm.cli.main import main

if __name__ == "__main__":
    main()
