"""Docs cannot drift: the README's command reference and completions/ match the app, and every
command has help with an example. Regenerate with `python -m mailadmin.cli.reference --write`."""

from __future__ import annotations

import pytest

from mailadmin.cli import reference
from tests.conftest import REPO


def test_readme_reference_is_current():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert reference.readme_with_reference(readme) == readme, "run `python -m mailadmin.cli.reference --write`"


@pytest.mark.parametrize(("shell", "name"), list(reference.SHELLS.items()))
def test_completion_scripts_are_current(shell, name):
    path = REPO / "completions" / name
    assert path.read_text(encoding="utf-8") == reference.completion_script(shell), "run `python -m mailadmin.cli.reference --write`"


@pytest.mark.parametrize(("path", "usage", "help_line"), reference.commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_help_and_an_example(path, usage, help_line):
    from typer.main import get_command

    from mailadmin.cli.app import app

    cmd = get_command(app)
    for part in path.split()[1:]:
        cmd = cmd.get_command(None, part)
    assert help_line, f"{path} has no help"
    assert "Example: mailadmin" in (cmd.help or ""), f"{path} has no example"
