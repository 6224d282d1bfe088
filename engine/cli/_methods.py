"""``despeckle methods [NAME]``: the registered methods and their parameters."""

from __future__ import annotations

import argparse
import textwrap
import warnings
from typing import Any

from engine._options import COMPRESSIONS, FORMATS
from engine._version import __version__
from engine.cli._common import print_json
from engine.conventions import DOMAINS
from engine.exceptions import MethodFallbackWarning, MethodUnavailableError
from engine.methods import (
    DEFAULT_STACK_METHOD,
    IMAGERY,
    choose_method,
    get_method,
    get_stack_method,
    is_stack_method,
    list_methods,
    list_stack_methods,
    retired_methods,
)
from engine.progress import Reporter

#: Version of the JSON ``despeckle methods --json`` prints. Programs (the QGIS plugin) build their
#: dialogs from it and refuse a version they do not know. Bump it when a key changes meaning or
#: disappears; adding a key or a method does not.
CONTRACT_VERSION = 1


def contract(methods: list[dict[str, Any]], default: str | None) -> dict[str, Any]:
    """Everything a front end needs to offer the engine's choices without hard-coding them."""
    return {
        "contract_version": CONTRACT_VERSION,
        "engine_version": __version__,
        "default_method": default,
        "input_domains": list(DOMAINS),
        "output_domains": [d for d in DOMAINS if d != "complex"],
        "compressions": list(COMPRESSIONS),
        "formats": list(FORMATS),
        "methods": methods,
        # Methods over a stack of dates ('despeckle stack'); their spatial estimators are "filter" methods above.
        "stack_methods": [{**get_stack_method(n).describe(), "default": n == DEFAULT_STACK_METHOD} for n in list_stack_methods()],
        # Methods withdrawn from the engine, with why and what replaces them (saved QGIS models name them).
        "retired_methods": retired_methods(),
    }


def add_parser(subparsers: argparse._SubParsersAction, argv: list[str]) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("methods")
    parser.add_argument("name", nargs="?", help="show one method in detail")
    parser.add_argument("--kind", choices=("filter", "model"), help="only filters or only models")
    parser.add_argument("--imagery", choices=IMAGERY, help="only methods meant for this imagery (models: what they were trained on)")
    parser.add_argument("--json", action="store_true",
                        help=f"print JSON (for programs such as the QGIS plugin; contract version {CONTRACT_VERSION}): the methods with their "
                             "parameters, the domains, compressions and formats")
    parser.set_defaults(handler=handle, progress="none")


def _print_stack_methods(names: list[str], detail: bool) -> None:
    print("\nmethods over a stack of dates ('despeckle stack'):" if not detail else "")
    for name in names:
        d = get_stack_method(name).describe()
        mark = "  [default]" if name == DEFAULT_STACK_METHOD else ""
        print(f"{d['name']:<12} stack   intensity  halo {d['halo_px_at_defaults']:>3} px  {d['title']}{mark}")
        if detail:
            print(textwrap.indent(textwrap.fill(d["description"], 96), "    "))
            for ref in d["references"]:
                print(textwrap.fill(ref, 100, initial_indent="    ref: ", subsequent_indent="         "))
        for p in d["parameters"]:
            print(f"    --{p['name'].replace('_', '-'):<26} {p['type']:<6} default {p['default']}: {p['help']}")


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    if args.name and is_stack_method(args.name) and not args.json:
        _print_stack_methods([get_stack_method(args.name).name], detail=True)
        return 0
    names = [get_method(args.name).name] if args.name else list_methods(kind=args.kind, imagery=args.imagery)
    described = [get_method(n).describe() for n in names]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MethodFallbackWarning)
            default = choose_method(None).name
    except MethodUnavailableError:
        default = None
    for d in described:
        d["default"] = d["name"] == default  # what `despeckle run` uses without --method
    if args.json:
        print_json(contract(described, default))
        return 0
    width = max((len(d["name"]) for d in described), default=0)
    for d in described:
        status = "" if d["available"] else f"  [not available: {d['unavailable_reason']}]"
        meant = "any" if set(d["imagery"]) == set(IMAGERY) else "/".join(d["imagery"])
        mark = "  [default]" if d["default"] else "" if d["maturity"] == "recommended" else f"  [{d['maturity']}]"
        print(f"{d['name']:<{width}} {d['kind']:<7} {d['domain']:<10} halo {d['halo_px_at_defaults']:>3} px  {meant:<10} {d['title']}{mark}{status}")
        if d["maturity_note"]:
            print(textwrap.fill(d["maturity_note"], 100, initial_indent="    note: ", subsequent_indent="          "))
        if args.name:
            print(textwrap.indent(textwrap.fill(d["description"], 96), "    "))
            for ref in d["references"]:
                print(textwrap.fill(ref, 100, initial_indent="    ref: ", subsequent_indent="         "))
        for p in d["parameters"]:
            default = p["default"] if p["from_attr"] is None else f"scene {p['from_attr']}, else {p['default']}"
            print(f"    --{p['name'].replace('_', '-'):<26} {p['type']:<6} default {default}: {p['help']}")
    if not (args.name or args.kind or args.imagery):
        _print_stack_methods(list_stack_methods(), detail=False)
    return 0
