"""scripts/profile_worker.py's summary of py-spy's collapsed stacks."""

from __future__ import annotations

from pathlib import Path

from scripts.profile_worker import stack_lines, summarise

GENERATED = "<lambda> (<string>:1);(def __init__(self, bind):\n    return target(fn, self, bind)) 3"


def test_a_frame_holding_a_newline_stays_in_its_stack(tmp_path: Path) -> None:
    """SQLAlchemy compiles functions from strings: py-spy prints their source in the frame's
    name, newlines included. The sample count ends the stack, not the line."""
    text = "\n".join(
        [
            "run (activities/tasks.py:5);do_commit (sqlalchemy/engine/default.py:954) 7",
            f"run (activities/tasks.py:5);{GENERATED}",
            "_worker (concurrent/futures/thread.py:81) 5",
        ]
    )
    assert [line.rpartition(" ")[2] for line in stack_lines(text)] == ["7", "3", "5"]
    stacks = tmp_path / "stacks.txt"
    stacks.write_text(text)
    summary = summarise(stacks)
    assert "15 samples" in summary and "10 busy" in summary
    assert "70.0%  store (sqlalchemy)" in summary
