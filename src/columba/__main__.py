"""``python -m columba``: the same as the ``columba`` command."""

from __future__ import annotations

from columba.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
