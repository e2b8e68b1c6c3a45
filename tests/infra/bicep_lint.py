"""A structural checker for Bicep files (there is no Bicep compiler on these machines).

Built on tests/bicep_syntax.py, it resolves every identifier (declarations, for-loop and lambda
locals, object keys, members), lists function calls and module output uses, and reports what a
compiler or linter would: undeclared names, unused params/vars, unknown functions, undescribed
params, module params that do not match the module, missing module files and outputs. It does not
type-check or evaluate expressions, and knows no resource schemas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.infra.bicep_syntax import (  # noqa: F401 - re-exported for the tests
    ArrayNode,
    BicepFile,
    Expr,
    ForNode,
    IfNode,
    Module,
    Node,
    ObjectNode,
    body_object,
    iter_tokens,
    module_params,
    object_literals,
    parse_file,
    resolve_module,
)
from tests.infra.bicep_tokens import Token, matching

KEYWORDS = frozenset({"true", "false", "null", "for", "in", "if", "existing"})
NAMESPACES = frozenset({"az", "sys"})
# Bicep's built-in functions (sys and az namespaces), as documented in "Bicep functions".
FUNCTIONS = frozenset(
    [
        "any",
        "array",
        "bool",
        "concat",
        "contains",
        "empty",
        "first",
        "last",
        "length",
        "max",
        "min",
        "range",
        "skip",
        "take",
        "union",
        "intersection",
        "indexOf",
        "lastIndexOf",
        "items",
        "join",
        "json",
        "string",
        "int",
        "base64",
        "base64ToString",
        "base64ToJson",
        "dataUri",
        "dataUriToString",
        "endsWith",
        "startsWith",
        "format",
        "guid",
        "newGuid",
        "padLeft",
        "replace",
        "split",
        "substring",
        "toLower",
        "toUpper",
        "trim",
        "uniqueString",
        "uri",
        "uriComponent",
        "uriComponentToString",
        "utcNow",
        "dateTimeAdd",
        "dateTimeFromEpoch",
        "dateTimeToEpoch",
        "resourceGroup",
        "subscription",
        "managementGroup",
        "tenant",
        "deployment",
        "environment",
        "resourceId",
        "subscriptionResourceId",
        "tenantResourceId",
        "extensionResourceId",
        "managementGroupResourceId",
        "reference",
        "listKeys",
        "listSecrets",
        "listAccountSas",
        "listServiceSas",
        "listConnectionStrings",
        "listCredentials",
        "pickZones",
        "providers",
        "filter",
        "map",
        "reduce",
        "sort",
        "toObject",
        "flatten",
        "objectKeys",
        "cidrSubnet",
        "cidrHost",
        "parseCidr",
        "loadTextContent",
        "loadJsonContent",
        "loadYamlContent",
        "loadFileAsBase64",
        "getSecret",
        "coalesce",
        "shallowMerge",
        "groupBy",
        "mapValues",
        "tryGet",
        "buildUri",
        "parseUri",
        "lambda",
    ]
)


@dataclass(frozen=True)
class Reference:
    name: str
    line: int
    context: str


@dataclass(frozen=True)
class Usage:
    references: tuple[Reference, ...]  # identifiers read as values (not keys, members, locals)
    calls: tuple[Reference, ...]  # function names called
    unresolved: tuple[Reference, ...]  # references that are neither declared nor local
    module_outputs: tuple[tuple[str, str, int], ...]  # (module symbol, output name, line)


def analyse(bicep: BicepFile) -> Usage:
    """Walk every expression and sort identifiers into references, calls and unresolved names."""
    references: list[Reference] = []
    calls: list[Reference] = []
    unresolved: list[Reference] = []
    module_outputs: list[tuple[str, str, int]] = []
    declared = bicep.symbols

    def walk_tokens(tokens: tuple[Token, ...], locals_: frozenset[str], context: str) -> None:
        tokens = tuple(tokens)
        skip, scoped = _local_declarations(tokens)
        frames: list[tuple[int, frozenset[str]]] = [(-1, locals_ | scoped.get(-1, frozenset()))]
        for index, token in enumerate(tokens):
            visible = frames[-1][1]
            if token.kind == "punct" and token.text in "{[(":
                frames.append((index, visible | scoped.get(index, frozenset())))
                continue
            if token.kind == "punct" and token.text in "}])":
                if len(frames) > 1:
                    frames.pop()
                continue
            if token.kind == "string":
                for inner in token.interps:
                    walk_tokens(inner, visible, context)
                continue
            if token.kind != "ident" or index in skip or token.text in KEYWORDS:
                continue
            before = _previous(tokens, index)
            after = _next(tokens, index)
            if before is not None and before.text in (".", ".?", "::", "@"):
                continue
            if after is not None and after.text == ":" and _is_object_key(tokens, index, frames[-1][0]):
                continue
            if after is not None and after.text == "(":
                calls.append(Reference(token.text, token.line, context))
                continue
            if token.text in NAMESPACES and after is not None and after.text == ".":
                continue
            reference = Reference(token.text, token.line, context)
            references.append(reference)
            if token.text in visible:
                continue
            if token.text not in declared:
                unresolved.append(reference)
            elif token.text in bicep.modules:
                output = _module_output(tokens, index)
                if output is not None:
                    module_outputs.append((token.text, output, token.line))

    def walk(node: Node, locals_: frozenset[str], context: str) -> None:
        if isinstance(node, Expr):
            walk_tokens(node.tokens, locals_, context)
        elif isinstance(node, ObjectNode):
            walk_tokens(node.interpolated_keys, locals_, context)
            for _, value in node.entries:
                walk(value, locals_, context)
        elif isinstance(node, ArrayNode):
            for item in node.items:
                walk(item, locals_, context)
        elif isinstance(node, ForNode):
            walk(node.iterable, locals_, context)
            walk(node.body, locals_ | frozenset(node.names), context)
        elif isinstance(node, IfNode):
            walk(node.condition, locals_, context)
            walk(node.body, locals_, context)

    for context, node in bicep.expressions():
        walk(node, frozenset(), context)
    return Usage(tuple(references), tuple(calls), tuple(unresolved), tuple(module_outputs))


def _previous(tokens: tuple[Token, ...], index: int) -> Token | None:
    return tokens[index - 1] if index > 0 else None


def _next(tokens: tuple[Token, ...], index: int) -> Token | None:
    return tokens[index + 1] if index + 1 < len(tokens) else None


def _is_object_key(tokens: tuple[Token, ...], index: int, frame_open: int) -> bool:
    """An identifier followed by `:` is a key when it starts an entry of an enclosing `{`."""
    if frame_open < 0 or tokens[frame_open].text != "{":
        return False
    before = _previous(tokens, index)
    return before is None or before.kind == "newline" or before.text in ("{", ",")


def _local_declarations(tokens: tuple[Token, ...]) -> tuple[set[int], dict[int, frozenset[str]]]:
    """Lambda parameters and for-loop variables: token indexes to skip and names per bracket frame."""
    skip: set[int] = set()
    scoped: dict[int, set[str]] = {}
    stack: list[int] = [-1]
    opens: dict[int, int] = {}
    for index, token in enumerate(tokens):
        if token.kind == "punct" and token.text in "{[(":
            stack.append(index)
        elif token.kind == "punct" and token.text in "}])":
            opener = stack.pop() if len(stack) > 1 else -1
            opens[index] = opener
        if token.kind == "ident" and token.text == "for" and index > 0 and tokens[index - 1].text == "[":
            frame = stack[-1]
            cursor = index + 1
            while cursor < len(tokens) and tokens[cursor].text != "in":
                if tokens[cursor].kind == "ident":
                    scoped.setdefault(frame, set()).add(tokens[cursor].text)
                    skip.add(cursor)
                cursor += 1
        if token.kind == "punct" and token.text == "=>":
            # The lambda lives in the enclosing frame (a function call's parentheses).
            frame = stack[-1]
            previous = tokens[index - 1]
            if previous.kind == "ident":
                scoped.setdefault(frame, set()).add(previous.text)
                skip.add(index - 1)
            elif previous.text == ")":
                opener = opens[index - 1]
                for cursor in range(opener + 1, index - 1):
                    if tokens[cursor].kind == "ident":
                        scoped.setdefault(frame, set()).add(tokens[cursor].text)
                        skip.add(cursor)
    return skip, {key: frozenset(value) for key, value in scoped.items()}


def _module_output(tokens: tuple[Token, ...], index: int) -> str | None:
    """`mod.outputs.x`, `mod[i].outputs.x` or `mod.?outputs.x`: the output name, else None."""
    cursor = index + 1
    if cursor < len(tokens) and tokens[cursor].text == "[":
        cursor = matching(tokens, cursor) + 1
    texts = [t.text for t in tokens[cursor : cursor + 4]]
    if len(texts) >= 4 and texts[0] in (".", ".?") and texts[1] == "outputs" and texts[2] in (".", ".?"):
        return texts[3]
    return None


GUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


def guid_literals(bicep: BicepFile) -> list[tuple[str, int, str]]:
    """(guid, line, declaration label) for every GUID-shaped string literal in the file."""
    found = []
    for context, node in bicep.expressions():
        for token in iter_tokens(node):
            if token.kind == "string":
                for part in token.parts:
                    for match in GUID.finditer(part):
                        found.append((match.group(0).lower(), token.line, context))
    return found


# ----------------------------------------------------------------------------------------- checks

API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


def declaration_problems(bicep: BicepFile) -> list[str]:
    """Unresolved names, unused params/vars, unknown functions, undescribed params, bad @allowed defaults."""
    where = bicep.path.name
    usage = analyse(bicep)
    used = {reference.name for reference in usage.references}
    problems = [f"{where}:{r.line}: `{r.name}` (in {r.context}) is not declared" for r in usage.unresolved]
    problems += [
        f"{where}:{p.line}: param `{p.name}` is never used" for p in bicep.params.values() if p.name not in used
    ]
    problems += [f"{where}:{v.line}: var `{v.name}` is never used" for v in bicep.vars.values() if v.name not in used]
    problems += [
        f"{where}:{c.line}: `{c.name}()` is not a Bicep function"
        for c in usage.calls
        if c.name not in FUNCTIONS and c.name not in bicep.funcs
    ]
    for param in bicep.params.values():
        description = param.description()
        if not description or not description.strip():
            problems.append(f"{where}:{param.line}: param `{param.name}` has no @description")
        allowed = param.allowed()
        default = param.default
        if allowed is not None and isinstance(default, Expr) and len(default.tokens) == 1:
            literal = default.tokens[0].literal
            if literal is not None and literal not in allowed:
                problems.append(f"{where}:{param.line}: default {literal!r} of `{param.name}` is not in @allowed")
    for resource in bicep.resources.values():
        if "@" not in resource.type or not API_VERSION.match(resource.api_version):
            problems.append(
                f"{where}:{resource.line}: resource `{resource.symbol}` type {resource.type!r} lacks an api version"
            )
    return problems


def module_problems(bicep: BicepFile) -> list[str]:
    """Module wiring: paths exist, params passed exist and required ones are passed, outputs exist, scope set."""
    where = bicep.path.name
    problems: list[str] = []
    children: dict[str, BicepFile] = {}
    for module in bicep.modules.values():
        path = resolve_module(bicep, module)
        if not path.is_file():
            problems.append(f"{where}:{module.line}: module `{module.symbol}` path {module.path!r} does not exist")
            continue
        child = children[module.symbol] = parse_file(path)
        passed = module_params(module)
        keys = set(passed.keys()) if passed is not None else set()
        for key in sorted(keys - set(child.params)):
            problems.append(
                f"{where}:{module.line}: module `{module.symbol}` passes `{key}`, which {module.path} does not declare"
            )
        for name in sorted(n for n, p in child.params.items() if p.required and n not in keys):
            problems.append(f"{where}:{module.line}: module `{module.symbol}` does not pass required `{name}`")
        body = body_object(module.body)
        if child.target_scope != bicep.target_scope and (body is None or body.get("scope") is None):
            problems.append(
                f"{where}:{module.line}: module `{module.symbol}` targets {child.target_scope} from a"
                f" {bicep.target_scope} file but sets no scope"
            )
    for symbol, output, line in analyse(bicep).module_outputs:
        child = children.get(symbol)
        if child is not None and output not in child.outputs:
            problems.append(
                f"{where}:{line}: `{symbol}.outputs.{output}` does not exist in {bicep.modules[symbol].path}"
            )
    return problems
