"""``python -m tests.corpus [DIRECTORY]``: one line per corpus program, then the figures.

Without DIRECTORY the committed corpus (tests/corpus/) runs; a directory of other programs
in the same two-header-line format runs the same way.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from pathlib import Path

from tests.corpus import CORPUS_DIR, EQUAL, REFUSED, counts, programs, verdict


def _line(status: str, name: str, detail: str) -> str:
    return f"{status:<48} {name:<44} {detail}".rstrip()


def reason(message: str) -> str:
    """The first sentence of a refusal, so equal reasons group together; imports group by
    their package (``import torch.func.grad`` and ``.jacrev`` are one missing feature)."""
    first = message.split(". ")[0].split(": ")[0]
    imported = re.match(r"`import ([\w.]+?)(?:\.\w+)?(?: as \w+)?` is not available", first)
    if imported and imported.group(1) != "torch":
        return f"`import {imported.group(1)}...` is not available"
    return first[:90]


def constructs(source: str) -> set[str]:
    """Which of issue 16's constructs a program uses, read from its syntax tree: the
    engine names only the first thing it refuses, the roadmap needs all of them."""
    found: set[str] = set()
    simple = {ast.For: "for", ast.While: "while", ast.If: "if", ast.Try: "try",
              ast.JoinedStr: "f-string", ast.Lambda: "lambda", ast.ListComp: "comprehension",
              ast.DictComp: "comprehension", ast.GeneratorExp: "comprehension",
              ast.Dict: "dict", ast.Yield: "yield", ast.Assert: "assert"}
    for node in ast.walk(ast.parse(source)):
        name = simple.get(type(node))
        if name:
            found.add(name)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(
                node.left, ast.Constant) and isinstance(node.left.value, str):
            found.add("% formatting")
        if isinstance(node, ast.Attribute):
            if node.attr in {"format", "data", "register_hook", "Tensor"}:
                found.add(f".{node.attr}")
            if isinstance(node.ctx, ast.Store):
                found.add("attribute assignment")
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            found.add("subscript assignment")
        if isinstance(node, ast.FunctionDef) and (node.decorator_list or node.args.defaults
                                                  or node.args.kwonlyargs or node.args.vararg):
            found.add("def with defaults/decorators/*args")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
            if module and module not in {"torch", "math", "torch.nn.functional"}:
                found.add(f"import {module}")
    return found


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else CORPUS_DIR
    paths = programs(directory)
    verdicts = [verdict(path) for path in paths]
    for v in verdicts:
        if v.status == EQUAL:
            detail = ""
        elif v.message:
            detail = f"line {v.line}: {v.message}"
        else:
            detail = v.differences[0] if v.differences else ""
        print(_line(v.status, v.name, detail.splitlines()[0] if detail else ""))
    equal, total, core_equal, core_total = counts(verdicts, paths)
    reasons = Counter(reason(v.message) for v in verdicts if v.status == REFUSED)
    print("\ntop refusal reasons (nn/optim/classes aside):")
    for why, n in reasons.most_common(12):
        print(f"  {n:3d}  {why}")
    used = Counter(c for v, p in zip(verdicts, paths) if v.status == REFUSED
                   for c in constructs(p.read_text(encoding="utf-8")))
    print("\nconstructs the refused programs use (nn/optim/classes aside):")
    print("  " + ", ".join(f"{c} {n}" for c, n in used.most_common()))
    print(f"\n{equal}/{total} accepted and equal")
    print(f"{core_equal}/{core_total} accepted and equal, nn/optim/classes aside")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
