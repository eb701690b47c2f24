"""Shared fixtures: where the corpora live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    """The shared corpus: ``$COLUMBA_CORPUS`` or ``../shared/corpus`` beside the repository."""
    override = os.environ.get("COLUMBA_CORPUS")
    return Path(override) if override else REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not path.is_dir():
        pytest.skip(f"shared corpus not found at {path} (set COLUMBA_CORPUS)")
    return path
