"""Writing a suite's results: ``results/<suite>.json`` and ``results/<suite>.md`` (+ PNGs)."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks._machine import describe_machine, machine_markdown

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(suite: str, *, summary: str, tables: list[str], data: dict[str, Any], figures: list[str] = ()) -> Path:
    """Write the suite's markdown (summary, machine, tables, figures) and JSON (data, machine)."""
    RESULTS.mkdir(exist_ok=True)
    machine = describe_machine()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m benchmarks " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("__main__.py") else f"python -m benchmarks {suite}"
    (RESULTS / f"{suite}.json").write_text(json.dumps({"suite": suite, "date": when, "command": command, "machine": machine, **data}, indent=2, default=float) + "\n")
    parts = [f"# {suite}\n", summary.strip() + "\n", f"Measured {when} with `{command}`.\n", machine_markdown(machine)]
    parts += [t.strip() + "\n" for t in tables]
    parts += [f"![{name}]({name})\n" for name in figures]
    path = RESULTS / f"{suite}.md"
    path.write_text("\n".join(parts))
    return path


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (benchmarks run headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, name: str, *, dpi: int = 100) -> str:
    """Write ``fig`` to ``results/<name>.png``, close it, and return the file name for the markdown."""
    filename = f"{name}.png"
    fig.savefig(RESULTS / filename, dpi=dpi)
    pyplot().close(fig)
    return filename


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
