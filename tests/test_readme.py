"""The README's language table lists every entry of the allow-list (and nothing drifts)."""

from pathlib import Path

from engine import language as L

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_allowed_name_is_documented():
    missing = [
        name
        for table in (L.TORCH_FUNCTIONS, L.F_FUNCTIONS, L.MATH_FUNCTIONS, L.BARE_FUNCTIONS,
                      L.CONSTANTS, L.TENSOR_METHODS, L.TENSOR_ATTRIBUTES, L.KEYWORDS)
        for name in table
        if f"`{name}`" not in README
    ]
    assert not missing, f"add to the README's language table: {missing}"


def test_quick_start_has_exactly_two_commands():
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert [c.split("#")[0].strip() for c in commands] == ["make run", "make test"]
