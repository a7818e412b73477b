"""What a Python block module declares, read and checked.

A `type: python` block's module declares its ports and params in a dict
named MQS_BLOCK and defines process(inputs) (filters, sinks) or produce()
(sources), and optionally init(params) and flush(). describe() loads the
module and turns the declaration into the normalized form the runtime reads
(as JSON): every mistake is an mqs.Error naming the module and the fix.
See docs/python.md, "Python blocks".
"""
import importlib.util
import json
import math
import os
import sys
import traceback

from . import _mqs

HEADERS = {"any": _mqs.HEADER_NONE, "video": _mqs.HEADER_VIDEO, "sensor": _mqs.HEADER_SENSOR}
FORMATS = {"any": _mqs.FORMAT_ANY, "rgb24": _mqs.FORMAT_RGB24, "gray8": _mqs.FORMAT_GRAY8,
           "i420": _mqs.FORMAT_I420}
PARAM_TYPES = ("int", "double", "bool", "string", "duration", "size", "enum")
CAPS_KEYS = ("format", "width", "height", "slots", "slot_size", "header", "rate")
FUNCTIONS = ("init", "process", "produce", "flush")


class DeclarationError(_mqs.Error):
    pass


def load(path):
    """Import the module at `path` under a name of its own (its file's stem)."""
    name = "mqs_block_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DeclarationError(f"{path}: not a Python module (hint: module: names a .py file)")
    module = importlib.util.module_from_spec(spec)
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)  # its own helper modules import as in a script
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise DeclarationError(f"{path}: importing it raised {_one_line(e, path)}") from None
    return module


def _one_line(e, path):
    """An exception as one line: its type, message and the line of `path` it came from."""
    where = None
    if isinstance(e, SyntaxError):
        where = f"{os.path.basename(e.filename or path)}, line {e.lineno}"
    else:
        for frame in traceback.extract_tb(e.__traceback__):
            if frame.filename == path:
                where = f"{os.path.basename(path)}, line {frame.lineno}"
    message = str(e.msg if isinstance(e, SyntaxError) else e)
    return f"{type(e).__name__}: {message}" + (f" ({where})" if where else "")


def _fail(path, what):
    hint = "" if "(hint:" in what else " (hint: see docs/python.md, \"Python blocks\")"
    raise DeclarationError(f"{path}: {what}{hint}")


def _port(path, entry, direction, index):
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        _fail(path, f"MQS_BLOCK['{direction}'][{index}] must be a name or a dict with 'name'")
    name = entry["name"]
    allowed = {"name", "help"} | ({"format", "header", "optional"} if direction == "inputs" else set(CAPS_KEYS))
    unknown = sorted(set(entry) - allowed)
    if unknown:
        _fail(path, f"{direction[:-1]} '{name}' has unknown key '{unknown[0]}' (known: {', '.join(sorted(allowed))})")
    port = {"name": name, "help": str(entry.get("help", ""))}
    if direction == "inputs":
        fmt = entry.get("format", "any")
        if fmt not in FORMATS:
            _fail(path, f"input '{name}' has format '{fmt}' (one of {', '.join(FORMATS)})")
        header = entry.get("header", "video" if fmt != "any" else "any")
        if header not in HEADERS:
            _fail(path, f"input '{name}' has header '{header}' (one of {', '.join(HEADERS)})")
        port.update(format=FORMATS[fmt], header=HEADERS[header], optional=bool(entry.get("optional", False)))
        return port
    caps = {}
    for key in CAPS_KEYS:
        if key not in entry:
            continue
        value = entry[key]
        if key == "format" and value not in FORMATS or key == "header" and value not in HEADERS:
            table = FORMATS if key == "format" else HEADERS
            _fail(path, f"output '{name}' has {key} '{value}' (one of {', '.join(table)})")
        numeric = key not in ("format", "header")
        from_param = isinstance(value, str) and value.startswith("$")
        if numeric and not from_param and (isinstance(value, bool) or not isinstance(value, (int, float))
                                           or value < 0):
            _fail(path, f"output '{name}' has {key} {value!r} (a number >= 0, or '$param' for a param's value)")
        caps[key] = value
    port["caps"] = caps
    return port


def _default_text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _param(path, key, entry):
    if not isinstance(entry, dict):
        _fail(path, f"param '{key}' must be a dict with at least 'type'")
    allowed = {"type", "default", "min", "max", "choices", "help"}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        _fail(path, f"param '{key}' has unknown key '{unknown[0]}' (known: {', '.join(sorted(allowed))})")
    kind = entry.get("type")
    if kind not in PARAM_TYPES:
        _fail(path, f"param '{key}' has type {kind!r} (one of {', '.join(PARAM_TYPES)})")
    choices = entry.get("choices", [])
    if kind == "enum" and (not isinstance(choices, (list, tuple)) or not choices
                           or not all(isinstance(c, str) and c and "|" not in c for c in choices)):
        _fail(path, f"param '{key}' is an enum: give its 'choices' as a list of names")
    largest = sys.float_info.max  # one bound given: the other is open
    bounds = [entry.get("min", -largest if "max" in entry else 0), entry.get("max", largest if "min" in entry else 0)]
    if not all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in bounds):
        _fail(path, f"param '{key}' has a min or max that is not a number")
    return {"key": key, "type": kind, "default": _default_text(entry.get("default")), "min": bounds[0],
            "max": bounds[1], "choices": "|".join(choices) if kind == "enum" else None,
            "help": str(entry.get("help", ""))}


def declaration(path, module):
    """The normalized declaration of a loaded module (a dict)."""
    decl = getattr(module, "MQS_BLOCK", None)
    if not isinstance(decl, dict):
        _fail(path, "declares no MQS_BLOCK dict of its ports and params")
    unknown = sorted(set(decl) - {"summary", "inputs", "outputs", "params", "aligned"})
    if unknown:
        _fail(path, f"MQS_BLOCK has unknown key '{unknown[0]}' (known: aligned, inputs, outputs, params, summary)")
    ports = {d: [_port(path, e, d, i) for i, e in enumerate(decl.get(d, []))] for d in ("inputs", "outputs")}
    params = decl.get("params", {})
    if not isinstance(params, dict):
        _fail(path, "MQS_BLOCK['params'] must be a dict of param name -> {'type': ..., ...}")
    if "module" in params:
        _fail(path, "declares a param 'module': that name is the block's own (the module's path)")
    declared = {p["key"] for p in (_param(path, k, v) for k, v in params.items())}
    for port in ports["outputs"]:
        for key, value in port["caps"].items():
            if isinstance(value, str) and value.startswith("$") and value[1:] not in declared:
                _fail(path, f"output '{port['name']}' takes {key} from param '{value[1:]}', which it does not declare")
    functions = [f for f in FUNCTIONS if callable(getattr(module, f, None))]
    kind = "source" if not ports["inputs"] else "sink" if not ports["outputs"] else "filter"
    if not ports["inputs"] and not ports["outputs"]:
        _fail(path, "declares no inputs and no outputs")
    need = "produce" if kind == "source" else "process"
    if need not in functions:
        _fail(path, f"is a {kind} without {need}() (hint: define {need}"
              f"{'()' if kind == 'source' else '(inputs)'})")
    return {"summary": str(decl.get("summary", "")), "kind": kind, "aligned": bool(decl.get("aligned", False)),
            "inputs": ports["inputs"], "outputs": ports["outputs"],
            "params": [_param(path, k, v) for k, v in params.items()], "functions": functions}


def exception_text(exc):
    """An exception as the runtime reports it: a refused declaration by its
    message, anything else with its traceback."""
    if isinstance(exc, DeclarationError):
        return str(exc)
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def describe(path):
    """Load the module at `path` and return its normalized declaration as JSON."""
    if not os.path.isfile(path):
        raise DeclarationError(f"{path}: no such file (hint: module: is relative to the graph file's directory)")
    return json.dumps(declaration(path, load(path)))
