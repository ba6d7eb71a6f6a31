"""Typed settings: YAML with line numbers, validated against frozen dataclasses.

Why not a validation library: the settings files are small, and what editors
need most is the exact line of every mistake, reported all at once. PyYAML's
node tree already knows each key's line; walking the dataclass field types
next to it is a short, dependency-free routine that keeps the CLI's start-up
fast (no model compilation on import).

A schema is a frozen dataclass whose fields carry a ``doc`` in their metadata
(see :func:`option`). Supported field types: ``str``, ``int``, ``float``,
``bool``, ``Literal[...]``, ``X | None``, ``tuple[X, ...]``, ``dict[str, X]``
and nested schema dataclasses. Unknown keys are errors.
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import MISSING, dataclass, field
from typing import Any, Callable, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import yaml

from .errors import Problem, SourcePos, TidingsError, decode_text

__all__ = ["option", "Node", "parse_yaml", "plain", "validate", "load_validated", "REQUIRED", "describe", "YamlSyntaxError"]

T = TypeVar("T")

REQUIRED: Any = MISSING

try:  # the C loader is several times faster; fall back when libyaml is absent
    _Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader


def option(default: Any = REQUIRED, *, doc: str, factory: Any = None) -> Any:
    """Declare one settings key with its default and the sentence that documents it."""
    if factory is not None:
        return field(default_factory=factory, metadata={"doc": doc})
    if default is REQUIRED:
        return field(metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(slots=True)
class Node:
    """A YAML value with the line it starts on (1-based), keys kept in order."""

    value: Any  # scalar, list[Node] or dict[str, tuple[int, Node]] (key line, value)
    line: int


def _to_node(node: yaml.Node, loader: yaml.SafeLoader | yaml.CSafeLoader) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        mapping: dict[str, tuple[int, Node]] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            mapping[str(key)] = (key_node.start_mark.line + 1, _to_node(value_node, loader))
        return Node(mapping, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([_to_node(child, loader) for child in node.value], line)
    return Node(loader.construct_object(node, deep=True), line)


def parse_yaml(text: str, path: str, *, first_line: int = 1) -> Node:
    """Parse YAML text into a :class:`Node` tree; syntax errors name path and line.

    ``first_line`` is the line of the text's first line in its file, for YAML
    embedded in a larger file (front matter).
    """
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return Node({}, first_line)
        node = _to_node(root, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + first_line) if mark else first_line
        reason = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(Problem(SourcePos(path, line), f"invalid YAML: {reason}")) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(Problem(SourcePos(path, first_line), f"invalid YAML: {exc}")) from None
    finally:
        loader.dispose()
    if first_line != 1:
        _shift(node, first_line - 1)
    return node


class YamlSyntaxError(Exception):
    """A YAML file or block that does not parse; carries the Problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem



def _shift(node: Node, by: int) -> None:
    node.line += by
    if isinstance(node.value, dict):
        for key, (kline, child) in list(node.value.items()):
            node.value[key] = (kline + by, child)
            _shift(child, by)
    elif isinstance(node.value, list):
        for child in node.value:
            _shift(child, by)


def plain(node: Node) -> Any:
    """The node tree as plain Python values (dicts, lists, scalars)."""
    if isinstance(node.value, dict):
        return {k: plain(v) for k, (_, v) in node.value.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value


def load_validated(
    schema: type[T], data: bytes, path: str, error: type[TidingsError], *, overrides: dict[str, Any] | None = None
) -> tuple[T, Node]:
    """Decode, parse and validate a settings file's bytes in one step.

    Raises ``error`` (a TidingsError subclass) with every problem: bad UTF-8
    (with its line), YAML syntax, or schema violations. ``overrides`` replace
    top-level keys (the preview server's base URL, for example). Returns the
    instance and the node tree, for checks that need a key's line.
    """
    text = decode_text(data, path, error)
    try:
        node = parse_yaml(text, path)
    except YamlSyntaxError as exc:
        raise error([exc.problem]) from None
    if overrides:
        if not isinstance(node.value, dict):
            node = Node({}, 1)
        for key, value in overrides.items():
            node.value[key] = (node.line, Node(value, node.line))
    instance, problems = validate(schema, node, path)
    if instance is None:
        raise error(problems)
    return instance, node


def validate(schema: type[T], node: Node, path: str, *, where: str = "") -> tuple[T | None, list[Problem]]:
    """Build ``schema`` from ``node``, collecting every problem instead of stopping.

    Returns the instance (``None`` when anything was wrong) and the problems,
    each naming the dotted key and its line.
    """
    problems: list[Problem] = []
    value = _convert(schema, node, path, where, problems)
    return (value if not problems else None), problems


def _key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (tuple, list):
        return "a list"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "a mapping"
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    return str(tp)


def _convert(tp: Any, node: Node, path: str, where: str, problems: list[Problem]) -> Any:
    origin = get_origin(tp)
    here = SourcePos(path, node.line)
    label = f"'{where}'" if where else "the file"

    def fail(expected: str) -> None:
        problems.append(Problem(here, f"{label} must be {expected}, not {_describe_value(node.value)}"))

    if dataclasses.is_dataclass(tp):
        if node.value is None:
            node = Node({}, node.line)
        if not isinstance(node.value, dict):
            fail("a mapping")
            return None
        hints = get_type_hints(tp)
        known = {f.name: f for f in dataclasses.fields(tp) if f.init}
        kwargs: dict[str, Any] = {}
        for key, (kline, child) in node.value.items():
            name = key.replace("-", "_")
            if name not in known:
                hint = _closest(name, known)
                extra = f"; did you mean '{hint}'?" if hint else ""
                problems.append(Problem(SourcePos(path, kline), f"unknown key '{_key(where, key)}'{extra}"))
                continue
            kwargs[name] = _convert(hints[name], child, path, _key(where, key), problems)
        missing = False
        for name, f in known.items():
            if name not in kwargs and f.default is MISSING and f.default_factory is MISSING:
                problems.append(Problem(here, f"missing required key '{_key(where, name)}'"))
                missing = True
        if missing or any(v is None and not _allows_none(hints[k]) for k, v in kwargs.items()):
            return None
        try:
            return cast(Callable[..., Any], tp)(**kwargs)
        except (TypeError, ValueError) as exc:
            problems.append(Problem(here, f"{label}: {exc}"))
            return None
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if node.value is None and len(args) < len(get_args(tp)):
            return None
        for arg in args:
            trial: list[Problem] = []
            value = _convert(arg, node, path, where, trial)
            if not trial:
                return value
        fail(_type_name(tp))
        return None
    if origin is Literal:
        if node.value not in get_args(tp):
            fail(_type_name(tp))
            return None
        return node.value
    if origin in (tuple, list):
        (item_tp, *_rest) = get_args(tp)
        if node.value is None:
            return ()
        if not isinstance(node.value, list):
            fail("a list")
            return None
        return tuple(
            _convert(item_tp, child, path, f"{where}[{i}]", problems) for i, child in enumerate(node.value)
        )
    if origin is dict:
        _key_tp, value_tp = get_args(tp)
        if node.value is None:
            return {}
        if not isinstance(node.value, dict):
            fail("a mapping")
            return None
        return {
            k: _convert(value_tp, child, path, _key(where, k), problems) for k, (_, child) in node.value.items()
        }
    if tp is bool:
        if not isinstance(node.value, bool):
            fail("true or false")
            return None
        return node.value
    if tp is int:
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            fail("a whole number")
            return None
        return node.value
    if tp is float:
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            fail("a number")
            return None
        return float(node.value)
    if tp is str:
        if isinstance(node.value, (dict, list)) or node.value is None:
            fail("a string")
            return None
        return str(node.value)
    if tp is Any:
        return plain(node)
    raise TypeError(f"schema type {tp!r} is not supported")  # a bug in a schema, not user input


def _allows_none(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp)


def _describe_value(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


def _closest(name: str, known: dict[str, Any]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return matches[0] if matches else None


def describe(schema: type, prefix: str = "") -> list[tuple[str, str, str]]:
    """(key, default, doc) rows for documentation, nested schemas flattened."""
    rows: list[tuple[str, str, str]] = []
    hints = get_type_hints(schema)
    for f in dataclasses.fields(schema):
        key = _key(prefix, f.name)
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            rows.extend(describe(tp, key))  # type: ignore[arg-type]
            continue
        if f.default is not MISSING:
            default = repr(f.default)
        elif f.default_factory is not MISSING:
            default = repr(f.default_factory())
        else:
            default = "(required)"
        rows.append((key, default, str(f.metadata.get("doc", ""))))
    return rows

