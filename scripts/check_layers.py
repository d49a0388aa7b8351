#!/usr/bin/env python3
"""Check that selecta-core's modules import only from the layers below them.

The order is ARCHITECTURE.md's: a module may use `crate::X` only for an X listed before it
(or itself). `testkit` (test data, behind a feature) may use anything but the engine, and code
inside `#[cfg(test)]` modules is not checked. Exits 1 and names each upward import.

    scripts/check_layers.py
"""
import pathlib
import re
import sys

ORDER = [
    "error", "control", "hash", "sealed", "simd",
    "audio", "embed", "features", "record", "record_views", "analyze",
    "store", "path_index",
    "similar", "retrieval", "dj", "taste", "ingest", "bundle", "eval", "interop",
    "engine",
]
EXEMPT = {"testkit": ORDER.index("engine")}

def strip_test_modules(text):
    """Drop `#[cfg(test)] mod … { … }` blocks: tests may reach anything (they build test data)."""
    while (m := re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        text = text[: m.start()] + text[i:]
    return text


src = pathlib.Path(__file__).resolve().parent.parent / "crates/selecta-core/src"
rank = {name: i for i, name in enumerate(ORDER)}
problems = []
for path in sorted(src.rglob("*.rs")):
    rel = path.relative_to(src)
    top = rel.parts[0].removesuffix(".rs")
    if top == "lib":
        continue
    own = EXEMPT.get(top, rank.get(top))
    if own is None:
        problems.append(f"{rel}: module `{top}` has no layer in scripts/check_layers.py and ARCHITECTURE.md")
        continue
    text = strip_test_modules(path.read_text())
    # Doc links (`[`crate::store::Store`]`) are references, not dependencies.
    text = re.sub(r"^\s*//.*$", "", text, flags=re.MULTILINE)
    if "crate::{" in text:
        problems.append(f"{rel}: `use crate::{{...}}` hides which layers it uses; name one module per path")
    for m in re.finditer(r"crate::([a-z_]+)", text):
        used = m.group(1)
        if used in rank and used != top and rank[used] > own:
            line = text.count("\n", 0, m.start()) + 1
            problems.append(f"{rel}:{line}: `{top}` uses `{used}`, a layer above it")
for p in problems:
    print(p)
print(f"{'FAILED' if problems else 'ok'}: {len(problems)} upward import(s) in selecta-core")
sys.exit(1 if problems else 0)
