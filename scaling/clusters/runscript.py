"""Shell scripts for AKS run-command: one that reads a cluster, one that writes it, and strict parsers.

Run-command is slow (tens of seconds a call) and returns only an exit code and at most 512 kB of
text, so a tick sends one script with every read and one with every write. Every name in a script
has been validated (DNS-1123) and is still passed through `shlex.quote`; patch bodies are JSON,
quoted the same way. The output is framed by markers so that truncation or stray text is detected
instead of being half-parsed.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scaling.annotations import BOOKKEEPING
from scaling.names import dns1123_label, dns1123_subdomain

MARK = "@@aks-hours"
_BEGIN = re.compile(rf"^{MARK}:begin (?P<section>[a-z0-9-]+)@@$")
_END = re.compile(rf"^{MARK}:end (?P<section>[a-z-]+) rc=(?P<rc>\d+)@@$")
_RESULT = re.compile(rf"^{MARK}:result (?P<index>\d+) rc=(?P<rc>\d+)@@$")
_DONE = f"{MARK}:done@@"

# Resource names as kubectl knows them, with their API group so nothing is ambiguous.
READ_RESOURCES: Mapping[str, str] = {
    "deployments": "deployments.apps",
    "statefulsets": "statefulsets.apps",
    "horizontalpodautoscalers": "horizontalpodautoscalers.autoscaling",
    "cronjobs": "cronjobs.batch",
    "jobs": "jobs.batch",  # read only: which CronJobs have Jobs still running
    "scaledobjects": "scaledobjects.keda.sh",
}
# What the write script may patch: everything read but Jobs (running Jobs are left alone).
PATCHABLE = frozenset(resource for section, resource in READ_RESOURCES.items() if section != "jobs")
OPTIONAL_SECTIONS = frozenset({"scaledobjects"})  # the KEDA CRD may be absent

# Drop what is large and never needed (pod templates but for the node pool they pin to, Job templates,
# managed fields, last-applied copies) so a cluster's reads fit the 512 kB output limit; then gzip +
# base64 for a further ~10x.
_JQ_SLIM = (
    "[.items[] | del(.metadata.managedFields, .spec.jobTemplate, .status.conditions,"
    ' .metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"])'
    " | if .spec.template then .spec.template = {spec: ((.spec.template.spec // {})"
    " | {nodeSelector, affinity: {nodeAffinity: .affinity.nodeAffinity}})} else . end]"
)


# At most this many patches per write command: each result prints at most OUTPUT_PER_PATCH bytes of
# kubectl's output plus ~80 bytes of markers, so one command's output stays under the 512 kB limit.
MAX_PATCHES = 1000
OUTPUT_PER_PATCH = 400


class RunScriptError(RuntimeError):
    """Run-command output that cannot be trusted; the message says what was wrong."""


def read_script(namespaces: Iterable[str], *, strays: bool = False) -> str:
    """A bash script listing every managed kind in `namespaces`, one framed section per kind; with
    `strays`, also the objects of other namespaces holding the app's originals (to release them)."""
    names = sorted({dns1123_label(ns, what="namespace") for ns in namespaces})
    if not names and not strays:
        raise ValueError("read_script needs at least one namespace")
    lines = ["set -u", "export LC_ALL=C", 'err="$(mktemp)"', "trap 'rm -f \"$err\"' EXIT"]
    for section, resource in READ_RESOURCES.items():
        if len(names) == 1 and not strays:
            scope = f"-n {shlex.quote(names[0])}"
            select = "."
        else:
            # One cluster-wide list is one API call however many namespaces there are.
            scope = "--all-namespaces"
            wanted = ", ".join(json.dumps(ns) for ns in names)
            keep = f"(.metadata.namespace | IN({wanted}))" if names else "false"
            if strays:
                held = " or ".join(f"has({json.dumps(key)})" for key in BOOKKEEPING)
                keep += f" or ((.metadata.annotations // {{}}) | ({held}))"
            select = f"map(select({keep}))"
        pipeline = (
            # --chunk-size=0: one list request per kind, not one per 500 objects
            f"kubectl get {shlex.quote(resource)} {scope} --chunk-size=0 -o json"
            f" | jq -c {shlex.quote(_JQ_SLIM + ' | ' + select)}"
            " | gzip -c | base64 -w0"
        )
        lines += [
            f"echo '{MARK}:begin {section}@@'",
            # stderr (warnings) must not mix into the base64 data: shown only on failure
            f'out="$( ( set -o pipefail; {pipeline} ) 2>"$err" )"; rc=$?',
            'if [ "$rc" -eq 0 ]; then printf "%s\\n" "$out"; else cat "$err"; echo; fi',
            f'echo "{MARK}:end {section} rc=$rc@@"',
        ]
    lines.append(f"echo '{_DONE}'")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ReadSection:
    """One kind's list from a read script: its objects, or why it failed."""

    section: str
    items: tuple[dict, ...]
    error: str | None = None


def parse_read_output(logs: str) -> dict[str, ReadSection]:
    """Parse a read script's output; raise RunScriptError on anything unexpected."""
    sections: dict[str, ReadSection] = {}
    current: str | None = None
    body: list[str] = []
    done = False
    for line in logs.splitlines():
        if line == _DONE:
            done = True
            continue
        begin = _BEGIN.match(line)
        if begin:
            if current is not None:
                raise RunScriptError(f"section {current!r} was not closed before {begin['section']!r}")
            current, body = begin["section"], []
            continue
        end = _END.match(line)
        if end:
            if current is None or end["section"] != current:
                raise RunScriptError(f"section end {end['section']!r} does not match begin {current!r}")
            sections[current] = _section(current, "".join(body).strip(), int(end["rc"]))
            current = None
            continue
        if current is not None:
            body.append(line)
        elif line.strip():
            raise RunScriptError(f"unexpected output outside any section: {line[:200]!r}")
    if current is not None or not done:
        raise RunScriptError("output ends early (truncated at the 512 kB limit, or the script was killed)")
    missing = set(READ_RESOURCES) - set(sections)
    if missing:
        raise RunScriptError(f"output lacks sections: {', '.join(sorted(missing))}")
    return sections


def _section(section: str, text: str, rc: int) -> ReadSection:
    if rc != 0:
        if section in OPTIONAL_SECTIONS and "doesn't have a resource type" in text:
            return ReadSection(section, (), error="absent")
        raise RunScriptError(f"listing {section} failed (exit {rc}): {text[:500]}")
    try:
        items = json.loads(gzip.decompress(base64.b64decode(text, validate=True)))
    except (ValueError, OSError) as error:
        raise RunScriptError(f"listing {section} returned unreadable data: {error}") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise RunScriptError(f"listing {section} did not return a list of objects")
    return ReadSection(section, tuple(items))


@dataclass(frozen=True)
class ScriptPatch:
    """One `kubectl patch` to run: resource (e.g. `deployments.apps`), namespace, name, merge patch, and
    its step: patches of one step run side by side, a later step only once the earlier one has ended."""

    resource: str
    namespace: str
    name: str
    patch: Mapping[str, object]
    step: int = 0


@dataclass(frozen=True)
class PatchResult:
    index: int
    ok: bool
    conflict: bool
    output: str


def write_script(patches: Iterable[ScriptPatch], *, parallel: int = 8) -> str:
    """A bash script applying every patch, `parallel` kubectl processes at a time, then reporting each
    patch's output and exit code in order.

    A kubectl process costs ~50-100 ms (start-up, a GET and the PATCH); one after the other, a few hundred
    objects would take most of the command's budget. Patches of one step (one plan phase, which the API
    path sends in parallel too) run side by side; where the step changes the script waits for every
    running patch first, because phases depend on each other (a KEDA pause must be lifted before its
    Deployment is restored, or KEDA scales it straight back to 0)."""
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, not {parallel}")
    lines = [
        "set -u",
        "export LC_ALL=C",
        'out="$(mktemp -d)"',
        "trap 'rm -rf \"$out\"' EXIT",
        # each patch's output and exit code go to files of their own, printed in order at the end
        'patch() { index=$1; shift; "$@" >"$out/$index" 2>&1; echo $? >"$out/$index.rc"; }',
        "running=0",
    ]
    count, step = 0, None
    for index, item in enumerate(patches):
        if step is not None and item.step != step:
            lines.append("wait; running=0")  # the next step starts when this one has ended
        step = item.step
        if item.resource not in PATCHABLE:
            raise ValueError(f"resource {item.resource!r} cannot be patched by this app")
        namespace = dns1123_label(item.namespace, what="namespace")
        name = dns1123_subdomain(item.name, what=f"{item.resource} name")
        body = json.dumps(item.patch, separators=(",", ":"), sort_keys=True)
        lines += [
            f"patch {index} kubectl patch {shlex.quote(item.resource)} {shlex.quote(name)}"
            f" -n {shlex.quote(namespace)} --type merge -p {shlex.quote(body)} &",
            f'running=$((running + 1)); if [ "$running" -ge {parallel} ]; then wait -n; running=$((running - 1)); fi',
        ]
        count += 1
    lines.append("wait")
    if count:
        lines += [
            f"for ((index = 0; index < {count}; index++)); do",
            f'  echo "{MARK}:begin result-$index@@"',
            # a long output keeps its end (where kubectl puts the error, after any warnings), so that
            # MAX_PATCHES results always fit the 512 kB output
            f'  tail -c {OUTPUT_PER_PATCH} "$out/$index" 2>/dev/null; echo',
            '  rc="$(cat "$out/$index.rc" 2>/dev/null || echo 255)"',
            f'  echo "{MARK}:result $index rc=$rc@@"',
            "done",
        ]
    lines += ['rm -rf "$out"', f"echo '{_DONE}'"]
    return "\n".join(lines) + "\n"


def parse_write_output(logs: str, *, expected: int) -> list[PatchResult]:
    """Parse a write script's output: one result per patch, in order, or RunScriptError."""
    results: list[PatchResult] = []
    body: list[str] = []
    done = False
    for line in logs.splitlines():
        if line == _DONE:
            done = True
        elif _BEGIN.match(line):
            body = []
        elif match := _RESULT.match(line):
            index, rc = int(match["index"]), int(match["rc"])
            if index != len(results):
                raise RunScriptError(f"result {index} arrived out of order (expected {len(results)})")
            text = "\n".join(body).strip()
            conflict = rc != 0 and ("Conflict" in text or "has been modified" in text)
            results.append(PatchResult(index, rc == 0, conflict, text[:1000]))
            body = []
        else:
            body.append(line)
    if not done or len(results) != expected:
        raise RunScriptError(
            f"write output has {len(results)} of {expected} results"
            + ("" if done else " and no end marker (truncated or killed)")
        )
    return results
