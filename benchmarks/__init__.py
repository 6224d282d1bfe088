"""Benchmark suites: each writes markdown, JSON and PNG results under benchmarks/results/,
naming the machine and versions they ran on. Run ``python -m benchmarks SUITE`` or
``despeckle bench SUITE``; ``python -m benchmarks --list`` lists the suites."""
