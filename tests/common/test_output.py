"""Outputs published whole: one file or a set, old or new, never mixed, never partial."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest

from tests.faults import date_back, kill_at, kill_when
from winback.common import DataSourceError, atomic_path, publish_together, write_frame
from winback.common.output import recover

# A set of two files that belong together: the second names the first's SHA-256 (as a list
# summary names its list). Written by the real publish_together in a child process.
PUBLISH_PAIR = """
import hashlib
from pathlib import Path
from winback.common.output import publish_together

data, index, version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
with publish_together([data, index], on_step=step) as (data_tmp, index_tmp):
    data_tmp.write_text(version * 100_000)
    step("data written")
    digest = hashlib.sha256(data_tmp.read_bytes()).hexdigest()
    index_tmp.write_text(f"{version} {digest}")
"""


def _publish_pair(data: Path, index: Path, version: str) -> None:
    with publish_together([data, index]) as (data_tmp, index_tmp):
        data_tmp.write_text(version * 100_000)
        digest = hashlib.sha256(data_tmp.read_bytes()).hexdigest()
        index_tmp.write_text(f"{version} {digest}")


def _state(data: Path, index: Path) -> str:
    """The version the pair holds; fails unless the index describes the data that is there."""
    version, digest = index.read_text().split(" ")
    assert hashlib.sha256(data.read_bytes()).hexdigest() == digest, "index names another data"
    assert data.read_text() == version * 100_000
    return version


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".publish-" in p.name)


# (step to kill at, version on disk right after the kill, version once the next run recovered)
KILLS = [
    ("data written", "old", "old"),  # before any file is complete
    ("written", "old", "old"),  # every file complete, nothing committed
    ("committed", "old", "new"),  # journal written: the set is new from here on
    ("renamed data.bin", None, "new"),  # between the renames: recovery finishes them
    ("renamed index.txt", "new", "new"),
    ("published", "new", "new"),
]


@pytest.mark.parametrize(("step", "right_after", "recovered"), KILLS)
def test_a_set_killed_at_any_point_is_old_or_new_never_mixed(
    tmp_path, step, right_after, recovered
) -> None:
    data, index = tmp_path / "out" / "data.bin", tmp_path / "out" / "index.txt"
    _publish_pair(data, index, "a")
    # Leftovers of the killed run must predate the next one to count as stale.
    seen = kill_at(PUBLISH_PAIR, [str(data), str(index), "b"], step)
    assert seen[-1] == step
    versions = {"old": "a", "new": "b"}
    if right_after is not None:
        assert _state(data, index) == versions[right_after]
    else:  # the one moment two renames cannot hide: the journal says how it ends
        assert any(".publish-" in name for name in _leftovers(data.parent))
    date_back(data.parent)
    recover([data, index])  # what the next publication does first
    assert _state(data, index) == versions[recovered]
    assert _leftovers(data.parent) == []
    _publish_pair(data, index, "c")
    assert _state(data, index) == "c"


def test_the_next_run_clears_stale_leftovers_but_not_a_running_ones(tmp_path) -> None:
    data, index = tmp_path / "data.bin", tmp_path / "index.txt"
    _publish_pair(data, index, "a")
    kill_at(PUBLISH_PAIR, [str(data), str(index), "b"], "written")
    stale = _leftovers(tmp_path)
    assert len(stale) == 2  # .data.bin.tmp-<pid>, .index.txt.tmp-<pid>
    # A live process's file (our parent's, here) and a foreign name of the pattern stay.
    mine = tmp_path / f".data.bin.tmp-{os.getppid()}"
    foreign = tmp_path / ".data.bin.tmp-notes"
    mine.write_text("in progress")
    foreign.write_text("someone else's")
    date_back(tmp_path)
    # A dead run's file younger than this process is left for the next run: it may be racing us.
    young = tmp_path / ".data.bin.tmp-4194999"
    young.write_text("killed just now")
    _publish_pair(data, index, "c")
    assert _state(data, index) == "c"
    assert _leftovers(tmp_path) == sorted([mine.name, foreign.name, young.name])


def test_a_failure_before_the_renames_leaves_every_old_file(tmp_path) -> None:
    data, index = tmp_path / "data.bin", tmp_path / "index.txt"
    _publish_pair(data, index, "a")
    with pytest.raises(OSError, match="No space left"), publish_together([data, index]) as tmps:
        tmps[0].write_text("b" * 100_000)
        raise OSError(28, "No space left on device")  # as a full disk would, mid-set
    assert _state(data, index) == "a"
    assert _leftovers(tmp_path) == []


def test_an_unwritable_target_fails_before_any_work(tmp_path) -> None:
    data, blocker = tmp_path / "data.bin", tmp_path / "not-a-folder"
    _publish_pair(data, tmp_path / "index.txt", "a")
    blocker.write_text("a file where a folder should be")
    body_ran = False
    refused = pytest.raises(DataSourceError, match=r"cannot write .*not-a-folder/index\.txt")
    with refused, publish_together([data, blocker / "index.txt"]):
        body_ran = True
    assert not body_ran
    assert _state(data, tmp_path / "index.txt") == "a"
    assert _leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="distinct targets"), publish_together([data, data]):
        pass


def test_atomic_path_keeps_its_contract(tmp_path) -> None:
    target = tmp_path / "page.html"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".page.html.tmp-")
        tmp.write_text("new")
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "new"
    assert _leftovers(tmp_path) == []


# --- the scores writer, killed ------------------------------------------------------------------

WRITE_SCORES = """
import pandas as pd
from winback.serving.output import write_output

write_output(pd.read_parquet(sys.argv[1]), sys.argv[2])
"""


def test_scores_killed_while_written_leave_the_old_file_whole(tmp_path) -> None:
    """`winback score` writes through write_output; killed mid-write, the old scores stand."""
    frame = pd.DataFrame({"customer_id": [f"C{i:07d}" for i in range(400_000)], "p": 0.25})
    source = tmp_path / "new.parquet"
    frame.to_parquet(source)
    target = tmp_path / "scores.csv"
    write_frame(frame.head(3), target)
    old = target.read_bytes()
    # Killed as soon as its temporary file exists: somewhere in writing it. On a busy machine
    # the kill can land after the child is gone (seen once in 20-odd CI runs): the old file
    # must stand either way, and the kill is repeated until one lands mid-write.
    for _ in range(5):
        kill_when(WRITE_SCORES, [str(source), str(target)], _any_tmp(target))
        assert target.read_bytes() == old
        if _leftovers(tmp_path):
            break
    assert _leftovers(tmp_path) != []
    # The next run, a new process like every scoring run, to the end.
    kill_at(WRITE_SCORES, [str(source), str(target)], None)
    assert len(pd.read_csv(target)) == len(frame)
    assert _leftovers(tmp_path) == []


class _any_tmp:  # noqa: N801  (reads as a path in kill_when)
    """Exists once any temporary file of ``target`` does."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def exists(self) -> bool:
        return any(self.target.parent.glob(f".{self.target.name}.tmp-*"))

    def __str__(self) -> str:
        return f".{self.target.name}.tmp-*"
