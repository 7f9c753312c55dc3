"""engine.language.parsing: parses take turns across threads, and none bypasses it.

CPython 3.11's AST builder keeps a recursion counter in the interpreter's state, so two
threads parsing at once can fail with ``SystemError: AST constructor recursion depth
mismatch``; the classroom benchmark met it as a student's "Something went wrong"."""

from __future__ import annotations

import ast
import re
import threading
import time
from pathlib import Path

import pytest

from engine.language import parsing

ROOT = Path(__file__).resolve().parent.parent


def test_parse_is_ast_parse() -> None:
    source = "x = torch.tensor(2.0, requires_grad=True)\ny = x ** 2\ny.backward()\n"
    assert ast.dump(parsing.parse(source)) == ast.dump(ast.parse(source))
    assert ast.dump(parsing.parse("-1.5", mode="eval")) == ast.dump(ast.parse("-1.5", mode="eval"))
    with pytest.raises(SyntaxError):
        parsing.parse("y = (")


def test_threads_parse_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ast.parse slowed down, no two threads are ever inside it at once."""
    inside, most = 0, 0
    counting = threading.Lock()
    real_parse = ast.parse

    def slow_parse(*args: object, **kwargs: object) -> ast.AST:
        nonlocal inside, most
        with counting:
            inside += 1
            most = max(most, inside)
        time.sleep(0.002)  # a wide window for another thread to enter
        with counting:
            inside -= 1
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(parsing.ast, "parse", slow_parse)
    threads = [threading.Thread(target=lambda: [parsing.parse("y = x ** 2") for _ in range(10)])
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


def test_nothing_in_the_app_calls_ast_parse_but_parsing() -> None:
    """Every parse in engine, ui, pages and graphviz_utils goes through parsing.parse."""
    call = re.compile(r"\bast\.parse\(")
    bypassing = []
    for folder in ("engine", "ui", "app_pages", "graphviz_utils"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "engine" / "language" / "parsing.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#")[0]
                if call.search(code) and "``" not in code:
                    bypassing.append(f"{path.relative_to(ROOT)}:{number}")
    assert bypassing == []
