"""Loading `*.convo.yaml` with the file and line of every mapping, so every problem and every
failure can point at the step that caused it."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sim.errors import SimError


class Node(dict[str, Any]):
    """A YAML mapping that remembers where it was written, and whether a `${name}` is written
    anywhere in it (`variables`: True when not known, for one made in code)."""

    file: str = ""
    line: int = 0
    variables: bool = True


class NodeList(list[Any]):
    file: str = ""
    line: int = 0
    variables: bool = True


def mentions_variables(value: object) -> bool:
    """Whether `${` is written in `value` or anywhere inside it."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, (Node, NodeList)):
        return value.variables
    if isinstance(value, dict):
        return any(mentions_variables(k) or mentions_variables(v) for k, v in value.items())
    if isinstance(value, list):
        return any(mentions_variables(v) for v in value)
    return False


class ScenarioError(SimError):
    """A scenario file is not valid; the message starts with `file:line:`."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.problem = file, line, message


# libyaml's parser when PyYAML was built with it (~10x faster; a scenario run parses every file
# and its includes once per case), with the same safe constructors.
_SafeLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _construct(loader: yaml.SafeLoader, node: yaml.Node, file: str) -> Any:
    """A value, refused when it was made already: only an alias (`*name`) comes back to a
    node. A few nested anchors expand to billions of values (the "billion laughs"), which a
    run would walk for hours; a scenario writes its values out."""
    if node in loader.constructed_objects:
        raise ScenarioError(
            file,
            node.start_mark.line + 1,
            "this value (&anchor) is used again by an alias (*anchor): anchors and aliases are "
            "not supported, write the value out",
        )
    return loader.construct_object(node, deep=True)


def _loader(file: str) -> type[yaml.SafeLoader]:
    class Loader(_SafeLoader):  # type: ignore[misc]  # a base picked at import time
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Node:
        loader.flatten_mapping(node)
        out = Node()
        out.file, out.line = file, node.start_mark.line + 1
        for key_node, value_node in node.value:
            # Keys are taken as written: YAML 1.1 would read `on:` (as in `tap: .., on: ..`)
            # as the boolean true.
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError(file, key_node.start_mark.line + 1, "a key must be text")
            out[key_node.value] = _construct(loader, value_node, file)
        # Known once, at load: the runner then passes what needs no substitution as it is.
        out.variables = mentions_variables(dict(out))
        return out

    def sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> NodeList:
        out = NodeList(_construct(loader, child, file) for child in node.value)
        out.file, out.line = file, node.start_mark.line + 1
        out.variables = mentions_variables(list(out))
        return out

    def plain_scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        # Times and dates stay text: the runner parses them with their time zones.
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value
        return (
            loader.construct_scalar(node)
            if node.tag.endswith(":str")
            else (yaml.SafeLoader.construct_object(loader, node))
        )

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    Loader.add_constructor("tag:yaml.org,2002:timestamp", plain_scalar)
    return Loader


# Parsed files by path, with the file's stamp and text: a run reads each file and its includes
# several times per case (collection, lint, the run, the transport check), and parsing is most
# of what that costs. A file whose stamp changed is read again and parsed again if its text
# did; a stamp from the last two seconds is not trusted (a same-size rewrite within the file
# system's clock tick would keep it), so a file that was just written is always read.
_PARSED: dict[str, tuple[tuple[int, int, int, int], str, Any]] = {}
_PARSED_KEPT = 4096
_RACY_NS = 2_000_000_000


def load_yaml(path: Path) -> Any:
    """The parsed file. The same text gives the same object: callers must not modify it."""
    file = os.path.normpath(path)
    cached = _PARSED.get(file)
    try:
        found = os.stat(file)
        # ctime changes with every write and every utime: a file set back to an old mtime
        # after a rewrite still shows it.
        stamp = (found.st_mtime_ns, found.st_ctime_ns, found.st_size, found.st_ino)
        if (
            cached is not None
            and cached[0] == stamp
            and time.time_ns() - max(found.st_mtime_ns, found.st_ctime_ns) > _RACY_NS
        ):
            return cached[2]
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(file, 0, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:  # a file saved as Latin-1 or Windows-1252, or not text
        raw = path.read_bytes()[: exc.start]
        raise ScenarioError(
            file, raw.count(b"\n") + 1, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})"
        ) from None
    if cached is not None and cached[1] == text:
        _PARSED[file] = (stamp, text, cached[2])
        return cached[2]
    try:
        doc = yaml.load(text, Loader=_loader(file))  # SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ScenarioError(
            file, mark.line + 1 if mark else 0, f"not valid YAML: {exc.problem}"
        ) from None
    except yaml.reader.ReaderError as exc:  # a control character (NUL, BEL, ...) in the text
        line = text[: exc.position].count("\n") + 1
        raise ScenarioError(
            file, line, f"not valid YAML: {exc.reason} (#x{exc.character:04x})"
        ) from None
    if len(_PARSED) >= _PARSED_KEPT:
        _PARSED.clear()
    _PARSED[file] = (stamp, text, doc)
    return doc


def where(node: object, fallback: Node | NodeList | None = None) -> tuple[str, int]:
    for candidate in (node, fallback):
        if isinstance(candidate, Node | NodeList):
            return candidate.file, candidate.line
    return "", 0


@dataclass(frozen=True)
class Case:
    """One run of a scenario: the file, and the parameters of one `parametrize` row."""

    path: Path
    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def id(self) -> str:
        if not self.params:
            return self.name
        return f"{self.name} [{', '.join(f'{k}={v}' for k, v in self.params)}]"


def cases(path: Path) -> list[Case]:
    """The runs a scenario file asks for (one, or one per `parametrize` row)."""
    import itertools

    doc = load_yaml(path)
    if not isinstance(doc, Node):
        raise ScenarioError(str(path), 1, "a scenario is a mapping with `steps`")
    name = str(doc.get("name") or path.name.removesuffix(".convo.yaml"))
    table = doc.get("parametrize")
    if table is None:
        return [Case(path, name)]
    if isinstance(table, list):
        return [Case(path, name, tuple(dict(row).items())) for row in table]
    if isinstance(table, dict):
        keys = list(table)
        return [
            Case(path, name, tuple(zip(keys, combo, strict=True)))
            for combo in itertools.product(*(table[k] for k in keys))
        ]
    raise ScenarioError(*where(doc), "parametrize is a list of rows or a mapping of lists")
