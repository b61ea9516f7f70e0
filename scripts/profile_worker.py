"""Profile the production worker under load: where its CPU goes.

Runs `onething bench` with py-spy attached to the worker process during the timed phase
(collapsed stacks), then summarises them: the share of samples in each area (the workflow
sandbox, pydantic, the payload codec, the store, ...) and the project's own functions.

    .venv/bin/python scripts/profile_worker.py                      # 150 applications, 20 at once
    .venv/bin/python scripts/profile_worker.py --applications 300 --concurrency 50
    .venv/bin/python scripts/profile_worker.py --stacks .data/profile.txt   # summarise only

py-spy needs to ptrace the worker (root, or kernel.yama.ptrace_scope=0).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.worker_process import threads_file

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("domain/", "workflows/", "activities/", "store/", "onething/", "starter/", "worker.py")

# The first matching rule names a sample's area (looked for anywhere in the stack, in order).
AREAS = [
    ("sandbox: importing workflow modules", ("_importer.py",)),
    ("sandbox: other (restrictions, runner)", ("workflow_sandbox",)),
    ("payload codec (encryption)", ("onething/codec.py",)),
    ("store (sqlalchemy)", ("sqlalchemy",)),
    ("data conversion (pydantic)", ("pydantic",)),
    ("workflow code and SDK workflow instance", ("_workflow_instance.py",)),
    ("activities (SDK)", ("worker/_activity.py",)),
    ("protobuf", ("google/protobuf",)),
]


# Leaves where a thread waits, not works (py-spy may still sample them).
IDLE_LEAVES = ("selectors.py", "concurrent/futures/thread.py", "threading.py", "queue.py")


# py-spy's `--threads` puts the thread first ("thread (123): MainThread"): its role, by name.
THREAD_ROLES = [
    ("MainThread", "event loop: polls, payload codec, completions"),
    ("temporal_workflow", "workflow activations (in the sandbox)"),
    ("ThreadPoolExecutor", "activities"),
]


def frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rstrip("\n").rpartition(" ")
    return stack.split(";"), int(count)


def thread_role(frame: str) -> str | None:
    """The role of the thread a `--threads` stack begins with; None: not a thread frame."""
    if not frame.startswith("thread ("):
        return None
    name = frame.partition("): ")[2]
    return next((role for prefix, role in THREAD_ROLES if name.startswith(prefix)), "other")


def path_of(frame: str) -> str:
    """'name (path:line)' -> path."""
    inside = frame[frame.rfind("(") + 1 :]
    return inside.rpartition(":")[0]


def function_of(frame: str) -> str:
    """'name (path:line)' -> 'name (path)': one row per function, whatever the line."""
    return f"{frame[: frame.rfind(' (')]} ({path_of(frame)})"


def is_project(frame: str) -> bool:
    return path_of(frame).startswith(PROJECT)


def stack_lines(text: str) -> list[str]:
    """One line per stack: a frame of code compiled from a string may hold newlines (e.g.
    SQLAlchemy's generated functions), so a line ends only where a sample count does."""
    lines: list[str] = []
    pending = ""
    for part in text.splitlines():
        pending = f"{pending}{part}"
        if pending.rpartition(" ")[2].isdigit():
            lines.append(pending)
            pending = ""
    return lines


def summarise(stacks: Path, top: int = 20) -> str:
    areas: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    total = idle = 0
    for line in stack_lines(stacks.read_text()):
        stack, count = frames(line)
        total += count
        role = thread_role(stack[0])
        if role is not None:
            stack = stack[1:] or [""]  # no Python frame: counted as idle, as before
        if not stack[-1] or any(leaf in path_of(stack[-1]) for leaf in IDLE_LEAVES):
            idle += count
            continue
        if role is not None:
            roles[role] += count
        joined = ";".join(stack)
        area = next((a for a, needles in AREAS if any(n in joined for n in needles)), "other")
        areas[area] += count
        if area.startswith("sandbox: importing"):
            bodies = [path_of(f) for f in stack if f.startswith("<module>") and is_project(f)]
            modules[bodies[-1] if bodies else "(the importer itself)"] += count
        for function in {function_of(f) for f in stack if is_project(f)}:
            inclusive[function] += count
        if is_project(stack[-1]):
            own[function_of(stack[-1])] += count
    busy = total - idle
    if busy == 0:
        return "no samples"
    out = [
        f"{total} samples of the worker's Python thread holding the GIL at 200 Hz; {busy} busy "
        f"({idle} in select or an idle pool thread, left out). Shares of busy samples: of "
        "the CPU the worker spends in Python.",
        "",
        "by area (first match down the stack):",
    ]
    out += [f"  {100 * n / busy:5.1f}%  {area}" for area, n in areas.most_common()]
    if roles:
        out += ["", "by thread:"]
        out += [f"  {100 * n / busy:5.1f}%  {role}" for role, n in roles.most_common()]
    out += cpu_by_thread(threads_file(stacks))
    out += ["", "sandbox imports, by the workflow module whose body runs:"]
    out += [f"  {100 * n / busy:5.1f}%  {m}" for m, n in modules.most_common(8)]
    out += ["", "project functions, inclusive:"]
    out += [f"  {100 * n / busy:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    out += ["", "project functions, self:"]
    out += [f"  {100 * n / busy:5.1f}%  {f}" for f, n in own.most_common(8)]
    return "\n".join(out)


def cpu_by_thread(path: Path) -> list[str]:
    """The worker's CPU in the profiled phase by kind of thread, as the kernel counted it
    (the SDK's Rust core and system time included, which py-spy does not see)."""
    if not path.is_file():
        return []
    spent: dict[str, list[float]] = json.loads(path.read_text())
    whole = sum(user + system for user, system in spent.values()) or 1.0
    out = ["", f"worker CPU by kind of thread (kernel): {whole:.1f} s, user + system"]
    for kind, (user, system) in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
        share = 100 * (user + system) / whole
        out.append(f"  {share:5.1f}%  {kind} ({user:.1f} s user, {system:.1f} s system)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--path", default="commitment")
    parser.add_argument("--stacks", type=Path, default=ROOT / ".data" / "worker-profile.txt")
    parser.add_argument("--summarise-only", action="store_true")
    args = parser.parse_args()
    if not args.summarise_only:  # else: summarise the stacks an earlier run left
        args.stacks.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,  # `onething bench`, whether or not the CLI mounts it yet
            "-c",
            "from starter.cli_bench import bench_app; bench_app()",
            "--applications",
            str(args.applications),
            "--concurrency",
            str(args.concurrency),
            "--path",
            args.path,
            "--open-applications",
            "0",
            "--bare-workflows",
            "50",
            "--profile",
            str(args.stacks),
            "--quiet",
        ]
        print("$", " ".join(command), flush=True)
        subprocess.run(command, check=True)
    print(summarise(args.stacks))


if __name__ == "__main__":
    main()
