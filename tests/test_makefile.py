"""The Makefile's first run: it installs the virtual environment quietly, before the demo, and a
failed install still shows why. Run on a small project of its own (the real Makefile, a tiny
package), so the test installs in seconds."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

TINY = """[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "tiny"
version = "0.1.0"
dependencies = {dependencies}

[project.optional-dependencies]
dev = []

[tool.setuptools]
py-modules = ["tiny"]
"""


def make(project: Path, target: str) -> subprocess.CompletedProcess[str]:
    # Not as a sub-make of `make test`: that would add "Entering directory" lines of its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_the_first_install_is_quiet_and_a_failed_one_says_why(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "tiny.py").write_text("")
    (tmp_path / "pyproject.toml").write_text(TINY.format(dependencies="[]"))

    done = make(tmp_path, ".venv/.installed")
    assert done.returncode == 0, done.stdout + done.stderr
    # Before, pip's warnings and setuptools' note on editable installs came out here, in the
    # middle of the first `make demo`.
    assert (done.stdout + done.stderr).splitlines() == [
        "Installing PayChat into .venv (first run only)...",
        "Installed.",
    ]
    assert "Installing" not in make(tmp_path, ".venv/.installed").stdout  # once only

    (tmp_path / "pyproject.toml").write_text(TINY.format(dependencies='["not a requirement!"]'))
    failed = make(tmp_path, ".venv/.installed")
    assert failed.returncode != 0
    assert "not a requirement!" in failed.stderr  # pip's error, with its cause
    assert "Installed." not in failed.stdout
