"""docs/protocol/mcp.md lists every table exactly as the code has it (a second implementation
is written from the document, so the two must not drift)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from columba.protocol.mcp.tables import (
    BUILTIN_DOMAINS,
    CODECS,
    DEFAULT_REASONS,
    HEADER_NAMES,
    METHODS,
    REASONS,
    SENSITIVE_HEADERS,
    SENSITIVE_NAME_PARTS,
    SIPC_CODECS,
    WORDS,
    XML_ATTRS,
    XML_TAGS,
    Reason,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol" / "mcp.md"


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _listing(title: str, rows: list[str]) -> str:
    return "\n".join([f"```text {title}", *rows, "```"])


def table_blocks() -> dict[str, str]:
    """Each table as the fenced block the document carries."""
    blocks = {
        "methods": _listing(
            "methods", [f"{i:3d}  {_quoted(m)}" for i, m in enumerate(METHODS) if i]
        ),
        "default-reasons": _listing(
            "default-reasons", [f"{s}  {_quoted(r)}" for s, r in sorted(DEFAULT_REASONS.items())]
        ),
        "reasons": _listing(
            "reasons",
            [f"{i + Reason.TABLE:3d}  {_quoted(r)}" for i, r in enumerate(REASONS)],
        ),
        "header-names": _listing(
            "header-names", [f"{i:3d}  {_quoted(n)}" for i, n in enumerate(HEADER_NAMES) if i]
        ),
        "codecs": _listing(
            "codecs",
            [f"{name:20s}  {codec.name}" for name, codec in CODECS.items()]
            + [
                f"{name:20s}  {codec.name}  (SIP-C only)"
                for name, codec in SIPC_CODECS.items()
                if CODECS.get(name) != codec
            ],
        ),
        "sensitive": _listing(
            "sensitive",
            [*sorted(SENSITIVE_HEADERS), *(f"*{part}*" for part in SENSITIVE_NAME_PARTS)],
        ),
        "domains": _listing(
            "domains", [f"{i:3d}  {_quoted(d)}" for i, d in enumerate(BUILTIN_DOMAINS)]
        ),
        "words": _listing(
            "words",
            [
                f"{i:3d}  {f'0x{0x80 + i:02x}' if i < 128 else '    '}  {_quoted(w)}"
                for i, w in enumerate(WORDS)
            ],
        ),
        "xml-tags": _listing(
            "xml-tags",
            [
                f"{i:3d}  {f'0x{0x80 + i:02x}' if i < 64 else '    '}  {_quoted(t)}"
                for i, t in enumerate(XML_TAGS)
            ],
        ),
        "xml-attrs": _listing(
            "xml-attrs",
            [
                f"{i:3d}  {f'0x{0xC0 + i:02x}' if i < 64 else '    '}  {_quoted(a)}"
                for i, a in enumerate(XML_ATTRS)
            ],
        ),
    }
    return blocks


@pytest.mark.parametrize(("name", "block"), sorted(table_blocks().items()))
def test_the_document_lists_the_table(name: str, block: str) -> None:
    assert block in DOC.read_text(encoding="utf-8"), f"docs/protocol/mcp.md: table {name}"


if __name__ == "__main__":  # print the blocks, to paste into the document
    for block in table_blocks().values():
        print(block, end="\n\n")
