"""The README stays true: its language table lists every entry of the allow-list, its
quick start is two commands, its pictures are the screenshot script's."""

import re
from pathlib import Path

from engine.language import tables as L

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_language_table_is_written_from_the_tables():
    from engine.language.document import language_table

    assert language_table() in README, (
        "the README's language table is out of date: paste the output of "
        "`python -m engine.language.document`")


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


def test_pictures_exist_and_come_from_the_screenshot_script():
    from tests.e2e.screenshots import SHOTS

    pictures = set(re.findall(r"docs/[\w-]+\.png", README))
    taken = {f"docs/{shot.name}.png" for shot in SHOTS}
    assert pictures == taken, "README pictures and tests/e2e/screenshots.py disagree"
    assert all((ROOT / picture).stat().st_size > 10_000 for picture in pictures)
