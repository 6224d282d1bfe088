"""``despeckle train CONFIG.yaml``: train a model (the ``training`` package does the work)."""

from __future__ import annotations

import argparse

from engine.exceptions import ParameterError
from engine.progress import Reporter


def add_parser(subparsers: argparse._SubParsersAction, argv: list[str]) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("train")
    try:
        from training.cli import add_arguments
    except ImportError:  # an installation without the training package
        parser.set_defaults(handler=_missing, progress="none")
        return
    add_arguments(parser)
    parser.set_defaults(handler=handle)


def _missing(args: argparse.Namespace, reporter: Reporter) -> int:
    raise ParameterError("training ships with the source checkout (training/); run this from it")


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    from training.cli import handle as train

    return train(args, reporter)
