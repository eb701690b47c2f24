"""Loading a benchmark script as a module, the way it runs as a script."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def load_bench_script() -> Iterator[Callable[[str], ModuleType]]:
    """A function that imports ``bench/<file>`` under a name of its own. bench/ goes first on
    ``sys.path`` (the scripts import their siblings, such as ``peers.py``, as top-level
    modules) and the module stays in ``sys.modules`` (dataclasses look their module up there),
    both until the test module is done."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH))

        def load(file: str) -> ModuleType:
            spec = importlib.util.spec_from_file_location(
                f"columba_bench_{Path(file).stem}", BENCH / file
            )
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            mp.setitem(sys.modules, spec.name, module)
            spec.loader.exec_module(module)
            return module

        yield load
