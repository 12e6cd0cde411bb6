"""The README's examples run as written, in order, on the store `mailadmin init --sample` makes
(issue 8): each line is run by bash from the repository root, and exits 0 unless its comment
starts with `# exit N`. The install and test commands, and crontab lines, are left out."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


from tests.conftest import BASE_ENV, REPO

EXPECT = re.compile(r"exit (\d+)\b")  # the comment after "  #": `# exit 4 ...`


def examples() -> list[tuple[int, str, int]]:
    """(README line number, command, expected exit code) for every example line, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.finditer(r"```sh\n(.*?)```", text, re.S):
        start = text.count("\n", 0, block.start()) + 2
        for offset, line in enumerate(block.group(1).splitlines()):
            command = line.strip()
            if not command.startswith("mailadmin ") and " | mailadmin " not in command:
                continue  # install and test commands, and prose
            comment = command.split("  #", 1)[1] if "  #" in command else ""
            expected = EXPECT.match(comment.strip())
            out.append((start + offset, command, int(expected.group(1)) if expected else 0))
    return out


def test_the_readme_has_examples_for_every_group():
    groups = {command.split()[1] for _line, command, _code in examples()}
    assert {"roles", "packages", "users", "credits", "audit"} <= groups


def test_readme_examples_run_in_order(empty_db_url, tmp_path):
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, **BASE_ENV, "MAILADMIN_DB": empty_db_url, "MAILADMIN_CONFIG": str(tmp_path / "config.toml"),
           "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(REPO)}

    def sh(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=120)

    assert sh("mailadmin init --sample").returncode == 0
    for line, command, expected in examples():
        proc = sh(command)
        assert proc.returncode == expected, f"README line {line}: {command}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
