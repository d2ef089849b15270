"""The scoring hot path compiled with mypyc, for installed builds; everything else is in pyproject.toml.

    MONITOR_MYPYC=1 pip install .     the modules listed in pyproject.toml [tool.monitor] compiled become C
                                      extensions (about 1.4x the items/s: bench/bench_compiled.py, docs/scoring.md)
    pip install . / pip install -e .  pure Python, the same scores

Compiling is opt-in, as black does it: it needs a C compiler and mypy at build time, and an editable install must
stay interpreted, because compiled modules beside the sources would shadow every later edit. The modules compile
as they are: they are already `mypy --strict` clean, and `.ci/run` runs their tests compiled as well.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
# What compiling needs: mypy, and the packages whose types the compiled modules use (so that the build is typed as
# `mypy --strict` checks it, not with Any in their place). mypy is pinned, here and in the dev extra: the compiled
# build that ships is the one `.ci/run` tested, whatever mypy releases next.
BUILD_REQUIRES = ["mypy==2.4.1", "numpy>=1.24", "rapidfuzz>=3.9"]
# The commands that compile; the others (pip asking for the requirements or the metadata: egg_info, dist_info;
# --version) do not need to.
BUILDS = {"build", "build_ext", "bdist_wheel", "install"}


def compiled_modules() -> list[str]:
    """The source files to compile, from pyproject.toml (the test of the compiled build reads the same list)."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        modules: list[str] = tomllib.load(file)["tool"]["monitor"]["compiled"]
    return [module.replace(".", "/") + ".py" for module in modules]


def wanted() -> bool:
    value = os.environ.get("MONITOR_MYPYC", "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value not in ("1", "true", "yes"):
        raise SystemExit(f"MONITOR_MYPYC={value!r}: expected 1 (compile the scoring modules) or 0")
    if "editable_wheel" in sys.argv or "develop" in sys.argv:
        raise SystemExit("MONITOR_MYPYC=1 is for `pip install .`: in an editable install the compiled modules "
                         "would shadow every later edit of their sources")
    return True


def ext_modules(build_base: Path) -> list[object]:
    if not BUILDS & set(sys.argv):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        raise SystemExit("MONITOR_MYPYC=1 needs mypy to compile the scoring modules: "
                         f"pip install {' '.join(map(repr, BUILD_REQUIRES))}") from None
    os.chdir(ROOT)  # mypycify takes paths relative to the project
    return list(mypycify(compiled_modules(), opt_level="3", target_dir=str(build_base / "mypyc")))


if wanted():
    # A fresh build directory for each compiled build: pip builds in the checkout, and setuptools would otherwise ship
    # whatever an earlier build left in build/lib, the compiled module of one since taken off the list included.
    build_base = Path(tempfile.mkdtemp(prefix="monitor-mypyc-"))
    atexit.register(shutil.rmtree, build_base, ignore_errors=True)
    setup(ext_modules=ext_modules(build_base), setup_requires=BUILD_REQUIRES,
          options={"build": {"build_base": str(build_base)}})
else:
    setup()
