"""``despeckle train CONFIG.yaml`` / ``python -m training CONFIG.yaml``."""

from __future__ import annotations

import argparse
import json
import sys

from engine.cli import add_progress_option, make_reporter, run_handler
from engine.progress import Reporter


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="training configuration (YAML), e.g. training/configs/looks-unet.yaml")
    parser.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    parser.add_argument("--revalidate", action="store_true",
                        help="do not train: re-measure the exported weights' validation metrics with the current engine and update the model card")
    parser.add_argument("--max-iterations", type=int, help="stop after this many iterations (checkpointed; resume later)")
    parser.add_argument("--output", help="run folder (default from the configuration: runs/<model>)")
    parser.add_argument("--export-dir", help="write the trained weights and card here instead of engine/weights (to compare before shipping)")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default from the configuration)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: all)")
    parser.add_argument("--data-root", help="folder holding the training data (default ../shared/data or $DESPECKLE_DATA)")
    add_progress_option(parser)


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    from training.config import load_config
    from training.export import revalidate
    from training.loop import train

    config = load_config(args.config, output=args.output, device=args.device, threads=args.threads, data_root=args.data_root,
                         export_dir=args.export_dir)
    if args.revalidate:
        metrics = revalidate(config)
        reporter.result(**metrics)
        print(json.dumps(metrics, indent=2), file=sys.stderr)
        return 0
    summary = train(config, resume=args.resume, max_iterations=args.max_iterations, reporter=reporter)
    reporter.result(**summary)
    print(json.dumps(summary, indent=2, default=str), file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description="Train a despeckling model from a configuration.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_handler(handle, args, make_reporter(args.progress))
