"""`vpeft params METHOD`: total, trainable and trainable-excluding-head parameter counts of a method on a model.

Counted on the meta device (`methods.counting`): nothing is allocated or downloaded, ViT-B/16 takes a fraction
of a second.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from pydantic import ValidationError

from ..errors import UserError
from ..options import parse_key_values

NAME = "params"
HELP = "parameter counts (total, trainable, trainable excluding the head) of a method on a timm model"
DEFAULT_MODEL = "vit_base_patch16_224"  # = methods.counting.DEFAULT_MODEL; not imported: keeps torch out of startup


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "example:\n  vpeft params lora --set r=4 --num-classes 100"
    parser.add_argument("method", metavar="METHOD",
                        help="a method id (see `vpeft methods`), or a catalog entry that names an implementation")
    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME",
                        help=f"a timm model name, built with pretrained=False (default: {DEFAULT_MODEL}); "
                        "a method applies to the backbone families it declares (`vpeft methods`: vit, eva, swin, "
                        "convnext, resnet)")
    parser.add_argument("--num-classes", type=int, metavar="N", help="classes of the head (default: the model's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="options",
                        help="a config option of the method, VALUE read as a YAML scalar (repeatable)")
    parser.add_argument("--json", action="store_true", help="print JSON")


MAX_CLASSES = 2**31 - 1  # beyond this torch overflows with a C++ message
MAX_LINE = 300  # torch appends a C++ stack to some messages; the line stays readable


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).split(" Exception raised from ", 1)[0]
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "..."


def _config_error(exc: ValidationError, raw: dict[str, Any]) -> UserError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "?"
    value = f"={raw[key]!r}" if key in raw else ""
    return UserError(f"--set {key}{value}: {first['msg']}")


def counts(method_id: str, model: str, num_classes: int | None, options: dict[str, Any]) -> tuple[Any, Any]:
    """(typed config, `ParameterCounts`), every failure turned into a one-line `UserError` naming the option."""
    from .. import methods
    from ..methods.counting import UnknownModelError, parameter_counts

    try:
        methods.get(method_id)
    except ValueError as exc:
        raise UserError(f"METHOD: {_one_line(exc)}") from None
    try:
        config = methods.make_config(method_id, **options)
    except ValidationError as exc:
        raise _config_error(exc, options) from None
    except ValueError as exc:  # unknown option: the message names the allowed ones
        raise UserError(f"--set: {_one_line(exc)}") from None
    kwargs = {} if num_classes is None else {"num_classes": num_classes}
    try:
        return config, parameter_counts(method_id, model, model_kwargs=kwargs, **options)
    except UnknownModelError as exc:
        raise UserError(f"--model: {_one_line(exc)}") from None
    except methods.UnsupportedModelError as exc:
        raise UserError(f"--model: {_one_line(exc)}") from None
    except (ValueError, TypeError) as exc:  # a config the model cannot take, or bad model arguments
        option = "--set" if options else "--model"
        raise UserError(f"{option}: {method_id} on {model}: {_one_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - a timm model we cannot build or adapt: one line, not a traceback
        raise UserError(f"--model: {method_id} on {model}: {type(exc).__name__}: {_one_line(exc)}") from None


def implementation(name: str, catalog_dir: str) -> str:
    """A registry id as given, else the implementation that the catalog entry `name` names (else `name`, which
    then fails with the list of registry ids)."""
    from .. import methods
    from ..catalog.lookup import implementation_of
    from ..catalog.service import optional_catalog

    if name in methods.available():
        return name
    return implementation_of(optional_catalog(catalog_dir), name) or name


def run(args: argparse.Namespace) -> int:
    if args.num_classes is not None and not 0 <= args.num_classes <= MAX_CLASSES:
        raise UserError(f"--num-classes: must be between 0 and {MAX_CLASSES:,}, got {args.num_classes}")
    method = implementation(args.method, args.catalog)
    config, result = counts(method, args.model, args.num_classes, parse_key_values(args.options))
    if args.json:
        payload = {"method": method, "model": args.model, "config": config.model_dump(mode="json"),
                   **({"catalog_entry": args.method} if method != args.method else {}), **result.as_dict()}
        print(json.dumps(payload, indent=2))
        return 0
    settings = ", ".join(f"{k}={v!r}" for k, v in config.model_dump().items())
    via = f" (catalog entry '{args.method}')" if method != args.method else ""
    print(f"{method}{via} on {args.model}" + (f" ({settings})" if settings else ""))
    for key, value in result.as_dict().items():
        print(f"  {key:<26}{value:>14,}  ({value / 1e6:.2f}M)")
    return 0
