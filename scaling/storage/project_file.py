"""Schedules files: a YAML or JSON mapping `projects:` of project name -> columns, read strictly and written back.

The columns are those of the `Projects` table (scaling/storage/rows.py). YAML is read with two YAML 1.1 surprises
switched off, because both would silently change a schedule: only `true` / `false` are booleans (so
`Holidays: NO`, Norway, stays text) and dates stay text (`ClosedDates: 2026-12-24`). A key given twice
(two projects with one name, or `Uptime` twice in one project) is an error, not "the last one wins".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from scaling.model import ProjectError
from scaling.storage.rows import COLUMNS, NAME_COLUMN, SYSTEM_COLUMNS

TOP_KEY = "projects"
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FileError(ValueError):
    """A file that is not a schedules file at all; the message says where and what is expected."""


class _StrictLoader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader without date resolution, with YAML 1.2 booleans, refusing duplicate keys."""

    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML's signature
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


@dataclass(frozen=True)
class ScheduleFile:
    """The entries of a schedules file: `rows` (name, columns) for each mapping entry, `errors` for the rest."""

    rows: tuple[tuple[str, Mapping[str, object]], ...]
    errors: tuple[ProjectError, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every project name in the file, valid or not."""
        return tuple(name for name, _ in self.rows) + tuple(e.project for e in self.errors)


def read_file(path: str) -> ScheduleFile:
    """Read `path` (`-` for standard input); JSON when it ends in `.json`, YAML otherwise.

    Raises FileError for an unreadable file or one that is not a `projects:` mapping, and OSError when
    the file cannot be opened."""
    if path == "-":
        import sys

        return parse_text(sys.stdin.read(), source="<stdin>", json_format=False)
    text = Path(path).read_text(encoding="utf-8")
    return parse_text(text, source=path, json_format=path.lower().endswith(".json"))


def parse_text(text: str, *, source: str, json_format: bool) -> ScheduleFile:
    """Parse the text of a schedules file; `source` names it in error messages."""
    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs) if json_format else yaml.load(text, _StrictLoader)
    except json.JSONDecodeError as exc:
        raise FileError(f"{source}: not valid JSON: {exc}") from None
    except yaml.YAMLError as exc:
        where = str(exc).replace('"<unicode string>"', source).replace("<unicode string>", source)
        raise FileError(f"{source}: not a valid schedules file: {where}") from None
    except FileError as exc:
        raise FileError(f"{source}: {exc}") from None
    example = f"expected a mapping '{TOP_KEY}:' of project name -> columns, e.g.\n{_EXAMPLE}"
    if not isinstance(data, dict) or set(data) != {TOP_KEY}:
        found = ", ".join(map(repr, data)) if isinstance(data, dict) else type(data).__name__
        raise FileError(f"{source}: top level is {found or 'empty'}; {example}")
    projects = data[TOP_KEY]
    if projects is None:
        projects = {}
    if not isinstance(projects, dict):
        raise FileError(f"{source}: '{TOP_KEY}' is a {type(projects).__name__}; {example}")
    rows: list[tuple[str, Mapping[str, object]]] = []
    errors: list[ProjectError] = []
    for name, columns in projects.items():
        name = str(name)
        if not isinstance(columns, dict):
            what = "empty" if columns is None else f"a {type(columns).__name__}"
            errors.append(ProjectError(name, NAME_COLUMN, f"the entry is {what}; expected a mapping of column: value"))
            continue
        keys = [str(key) for key in columns if str(key) in SYSTEM_COLUMNS]
        if keys:
            errors.append(
                ProjectError(
                    name,
                    keys[0],
                    f"{keys[0]} is set by the table; in a file the project name is the key under '{TOP_KEY}:'",
                )
            )
            continue
        rows.append((name, {str(key): value for key, value in columns.items()}))
    return ScheduleFile(rows=tuple(rows), errors=tuple(errors))


def dump(rows: Sequence[tuple[str, Mapping[str, object]]], *, fmt: str = "yaml") -> str:
    """A schedules file holding `rows` (name, columns) in the given order; columns in table order."""
    projects = {name: _ordered(columns) for name, columns in rows}
    if fmt == "json":
        return json.dumps({TOP_KEY: projects}, indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt != "yaml":
        raise ValueError(f"format {fmt!r}; expected yaml or json")
    # safe_dump quotes every string a YAML 1.1 reader would take for something else ('NO', '2026-12-24').
    return yaml.safe_dump({TOP_KEY: projects}, sort_keys=False, allow_unicode=True, width=1000)


def _ordered(columns: Mapping[str, object]) -> dict[str, object]:
    known = [c for c in COLUMNS if c in columns]
    other = sorted(c for c in columns if c not in COLUMNS)
    return {c: _plain(columns[c]) for c in known + other}


def _plain(value: object) -> object:
    """Values a YAML/JSON file can hold as they are; anything else (a date, binary) as text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise FileError(f"found the key {key!r} twice in one JSON object")
        seen[key] = value
    return seen


_EXAMPLE = """\
projects:
  project-a:
    Cluster: /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name>
    Namespaces: project-a
    Uptime: Mon-Fri 08:00-19:00
    TimeZone: Europe/Berlin"""
