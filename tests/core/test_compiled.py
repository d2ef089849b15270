"""The compiled build of the scoring path (setup.py: MONITOR_MYPYC=1 compiles the modules pyproject.toml lists).

`.ci/run` builds the wheel that way (.ci/compiled-copy), unpacks its compiled modules beside a copy of the sources and
runs tests/core, tests/feeds, tests/config and the worker limits' tests there with MONITOR_EXPECT_COMPILED=1: the first
test then checks that the modules it tested were the compiled ones, so that leg cannot pass on interpreted code, and
in every other run that no compiled module shadows the sources.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from monitor.core.scoring import compiled

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _listed() -> list[str]:
    modules: list[str] = _pyproject()["tool"]["monitor"]["compiled"]
    return modules


def test_the_compiled_leg_runs_compiled_modules() -> None:
    expected = os.environ.get("MONITOR_EXPECT_COMPILED") == "1"
    suffixes = {name: Path(importlib.import_module(name).__file__ or "").suffix for name in _listed()}
    if expected:
        assert suffixes == dict.fromkeys(suffixes, ".so"), "the compiled leg imported interpreted modules"
    else:  # compiled modules left in the tree by an in-place build would be tested instead of the sources
        assert suffixes == dict.fromkeys(suffixes, ".py"), "compiled modules shadow the sources: delete monitor/**/*.so"
    assert compiled() is expected


def test_the_compiled_modules_are_pure_core_modules() -> None:
    """Only monitor.core compiles: pure logic, no I/O, no monkeypatched adapters, `mypy --strict` clean."""
    listed = _listed()
    assert listed and len(set(listed)) == len(listed)
    for name in listed:
        assert name.startswith("monitor.core."), name
        assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), name


def test_a_bad_build_switch_is_refused_by_name() -> None:
    run = subprocess.run([sys.executable, "setup.py", "--version"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "MONITOR_MYPYC": "maybe"}, timeout=60, check=False)
    assert run.returncode != 0
    assert "MONITOR_MYPYC='maybe': expected 1" in run.stderr


def test_an_editable_compiled_install_is_refused() -> None:
    """Compiled modules beside the sources would shadow every later edit: setup.py refuses before building."""
    run = subprocess.run([sys.executable, "setup.py", "develop", "--dry-run"], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "MONITOR_MYPYC": "1"}, timeout=60, check=False)
    assert run.returncode != 0
    assert "editable install" in run.stderr


def test_without_the_switch_nothing_is_compiled() -> None:
    run = subprocess.run([sys.executable, "setup.py", "--version"], cwd=ROOT, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "MONITOR_MYPYC"}, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == _pyproject()["project"]["version"]
