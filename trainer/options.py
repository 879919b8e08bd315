"""Config dataclasses as command lines: one field, one flag, its help beside its default."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import field
from typing import Any


def option(default: Any, help: str, choices: tuple | None = None) -> Any:
    """A config field whose help (and choices) ``--help`` shows."""
    return field(default=default, metadata={"help": help, "choices": choices})


def add_options(p: argparse._ActionsContainer, cls: type, prefix: str = "") -> None:
    """One flag per field of the dataclass ``cls``: ``--name`` or ``--prefix-name``; booleans get ``--no-``."""
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata:
            continue  # a nested config, added by the caller under its own prefix
        name = prefix + f.name
        flag = "--" + name.replace("_", "-")
        help = f.metadata["help"]
        if isinstance(f.default, bool):
            p.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=f.default, help=help)
        else:
            shown = f" (default: {f.default})" if f.default not in ("", 0) else ""
            p.add_argument(flag, dest=name, type=type(f.default), default=f.default, choices=f.metadata["choices"],
                           help=help + shown)


def take_options(args: dict, cls: type, prefix: str = "") -> dict:
    """Remove the fields of ``cls`` from parsed ``args`` and return them by field name."""
    return {f.name: args.pop(prefix + f.name) for f in dataclasses.fields(cls) if "help" in f.metadata}
