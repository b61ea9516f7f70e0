"""scripts/profile_worker.py's summary of py-spy's collapsed stacks."""

from __future__ import annotations

import json
from pathlib import Path

from bench.worker_process import cpu_by_thread_kind, threads_file
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


def test_stacks_by_thread_and_the_kernels_cpu_by_kind_of_thread(tmp_path: Path) -> None:
    """py-spy's `--threads` begins each stack with its thread; the bench writes the kernel's
    CPU by kind of thread beside the stacks (the SDK's Rust core, which py-spy cannot see)."""
    stacks = tmp_path / "stacks.txt"
    stacks.write_text(
        "\n".join(
            [
                "thread (1): MainThread;_run_code (temporalio/worker/workflow_sandbox/_r.py:9) 6",
                "thread (2): ThreadPoolExecutor-0_1;do_commit (sqlalchemy/engine/default.py:9) 3",
                "thread (3): temporal_workflow_0;_import (workflow_sandbox/_importer.py:9) 1",
                "thread (2): ThreadPoolExecutor-0_1;_worker (concurrent/futures/thread.py:81) 4",
                "thread (4): Thread-7 5",
            ]
        )
    )
    threads_file(stacks).write_text(
        json.dumps({"event loop (main thread)": [6.0, 1.5], "SDK core (Rust threads)": [1.5, 1.0]})
    )

    summary = summarise(stacks)

    assert "10 busy (9 in select" in summary  # the idle pool thread and the frameless one
    assert "60.0%  event loop: polls, payload codec, completions" in summary
    assert "30.0%  activities" in summary
    assert "10.0%  workflow activations (in the sandbox)" in summary
    assert "60.0%  sandbox: other (restrictions, runner)" in summary  # the thread frame is not one
    assert "worker CPU by kind of thread (kernel): 10.0 s" in summary
    assert "75.0%  event loop (main thread) (6.0 s user, 1.5 s system)" in summary
    assert "25.0%  SDK core (Rust threads)" in summary


def test_the_cpu_each_kind_of_thread_spent_between_two_readings() -> None:
    before = {10: ("python", 1.0, 0.5), 11: ("tokio-rt-worker", 0.25, 0.125), 12: ("python", 3, 1)}
    after = {
        10: ("python", 4.0, 1.0),
        11: ("tokio-rt-worker", 0.75, 0.5),
        12: ("python", 4.0, 1.0),
        13: ("python", 0.5, 0.0),  # started meanwhile: all of it counts
    }
    assert cpu_by_thread_kind(before, after, main=10) == {
        "event loop (main thread)": [3.0, 0.5],
        "SDK core (Rust threads)": [0.5, 0.375],
        "other Python threads (activities, workflow activations)": [1.5, 0.0],
    }
