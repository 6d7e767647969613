"""Regenerate the generated parts of the docs (the configuration reference in docs/operations.md)."""

from __future__ import annotations

import re
from pathlib import Path

from seniorsafe.config import reference_markdown

OPERATIONS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
BLOCK = re.compile(r"(<!-- config-reference:start -->\n).*?(<!-- config-reference:end -->)", re.S)


def render(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + reference_markdown() + m.group(2), text)


if __name__ == "__main__":
    OPERATIONS.write_text(render(OPERATIONS.read_text()))
    print(f"updated {OPERATIONS}")
