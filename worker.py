"""Run the onething worker: `python worker.py` (same as `onething worker`)."""
