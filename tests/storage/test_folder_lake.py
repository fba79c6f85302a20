"""FolderLake specifics: atomic writes, nothing outside the root, no leftovers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from crosswalk.errors import InvalidData, NotFound
from crosswalk.lake import FolderLake, open_lake
from crosswalk.settings import LakeKind, LakeSettings


def test_put_json_returns_a_file_uri_to_the_written_file(tmp_path: Path) -> None:
    lake = FolderLake(tmp_path)

    uri = lake.put_json("raw/a/1.json", {"x": 1})

    assert uri == (tmp_path / "raw" / "a" / "1.json").as_uri()
    assert json.loads((tmp_path / "raw/a/1.json").read_text()) == {"x": 1}


def test_concurrent_writers_of_one_path_never_leave_a_torn_file(tmp_path: Path) -> None:
    lake = FolderLake(tmp_path)
    big = {f"k{i}": "v" * 200 for i in range(500)}

    def write(n: int) -> dict[str, object]:
        lake.put_json("raw/a/1.json", {**big, "writer": n})
        return lake.get_json("raw/a/1.json")  # must always parse

    with ThreadPoolExecutor(max_workers=8) as pool:
        reads = list(pool.map(write, range(40)))

    assert all(len(read) == 501 for read in reads)
    assert [p.name for p in (tmp_path / "raw/a").iterdir()] == ["1.json"]  # no temp files


def test_a_symlink_escape_is_not_reachable_through_dotdot(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text('{"s": 1}')
    lake = FolderLake(tmp_path / "lake")

    with pytest.raises(InvalidData):
        lake.get_json("../secret.json")


def test_a_file_that_is_not_json_is_invalid_data_on_read(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw/a.json").write_text("not json")

    with pytest.raises(InvalidData):
        FolderLake(tmp_path).get_json("raw/a.json")


def test_get_json_of_a_folder_is_not_found(tmp_path: Path) -> None:
    lake = FolderLake(tmp_path)
    lake.put_json("raw/a/1.json", {"x": 1})

    with pytest.raises(NotFound):
        lake.get_json("raw/a")


def test_open_lake_builds_a_folder_lake_from_settings(tmp_path: Path) -> None:
    lake = open_lake(LakeSettings(kind=LakeKind.FOLDER, folder=tmp_path / "lk"))

    lake.put_json("raw/a.json", {"x": 1})

    assert isinstance(lake, FolderLake)
    assert (tmp_path / "lk/raw/a.json").is_file()
