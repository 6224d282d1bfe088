"""``python -m benchmarks SUITE`` (or ``despeckle bench SUITE``): run a suite, write its results."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

SUITES = {
    "filters-vs-otb": "benchmarks.filters_vs_otb",
    "memory": "benchmarks.memory",
    "distributed": "benchmarks.distributed",
    "decorrelation": "benchmarks.decorrelation",
    "models": "benchmarks.models",
    "sar-synthetic": "benchmarks.sar_synthetic",
    "sar-real": "benchmarks.sar_real",
    "ultrasound": "benchmarks.ultrasound",
    "peers": "benchmarks.peers",
    "speed": "benchmarks.speed",
    "multitemporal": "benchmarks.multitemporal",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("suite", nargs="?", choices=[*SUITES, "all"], help="suite to run")
    parser.add_argument("--list", action="store_true", help="list the suites")
    parser.add_argument("--workdir", type=Path, help="folder for generated scenes (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.list or not args.suite:
        for name, module in SUITES.items():
            doc = (importlib.import_module(module).__doc__ or "").strip().splitlines()[0]
            print(f"{name:<16} {doc}")
        return 0
    for name in SUITES if args.suite == "all" else [args.suite]:
        path = importlib.import_module(SUITES[name]).run(workdir=args.workdir)
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
