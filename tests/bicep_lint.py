"""A small structural parser and checker for Bicep files (there is no Bicep compiler on these machines).

It understands what the infra checks need: declarations (param, var, resource, module, output, func),
decorators, object/array/for/if bodies, string interpolation, lambdas and for-loop locals. It does not
type-check expressions, evaluate them, or know resource schemas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

KEYWORDS = frozenset({"true", "false", "null", "for", "in", "if", "existing"})
NAMESPACES = frozenset({"az", "sys"})
STATEMENT_KEYWORDS = frozenset(
    {"targetScope", "param", "var", "resource", "module", "output", "metadata", "import", "type", "func"}
)
# Bicep's built-in functions (sys and az namespaces), as documented in "Bicep functions".
FUNCTIONS = frozenset(
    """
    any array bool concat contains empty first last length max min range skip take union intersection
    indexOf lastIndexOf items join json string int base64 base64ToString base64ToJson dataUri dataUriToString
    endsWith startsWith format guid newGuid padLeft replace split substring toLower toUpper trim uniqueString
    uri uriComponent uriComponentToString utcNow dateTimeAdd dateTimeFromEpoch dateTimeToEpoch resourceGroup
    subscription managementGroup tenant deployment environment resourceId subscriptionResourceId
    tenantResourceId extensionResourceId managementGroupResourceId reference listKeys listSecrets
    listAccountSas listServiceSas listConnectionStrings listCredentials pickZones providers filter map reduce
    sort toObject flatten objectKeys cidrSubnet cidrHost parseCidr loadTextContent loadJsonContent
    loadYamlContent loadFileAsBase64 getSecret coalesce shallowMerge groupBy mapValues tryGet buildUri
    parseUri lambda
    """.split()
)
SCOPE_FUNCTIONS = ("subscription", "managementGroup", "tenant")


class BicepSyntaxError(ValueError):
    """The file is not Bicep this parser understands; the message names file and line."""


@dataclass(frozen=True)
class Token:
    kind: str  # ident | string | number | punct | newline
    text: str
    line: int
    # Strings only: the literal text between interpolations, and each interpolation's tokens.
    parts: tuple[str, ...] = ()
    interps: tuple[tuple["Token", ...], ...] = ()

    @property
    def literal(self) -> str | None:
        """A string token's value when it has no interpolation, else None."""
        return self.parts[0] if self.kind == "string" and not self.interps else None


_PUNCT = ("=>", "==", "!=", "<=", ">=", "&&", "||", "??", "::", ".?", "{", "}", "[", "]", "(", ")", ",",
          ":", ".", "=", "?", "!", "<", ">", "+", "-", "*", "/", "%", "@", "|", "&", ";")
_ESCAPES = {"'": "'", "\\": "\\", "$": "$", "n": "\n", "r": "\r", "t": "\t"}


def tokenize(text: str, *, where: str = "<bicep>") -> list[Token]:
    """Tokens of a whole file; comments and #directives dropped, newlines kept (they end statements)."""
    tokens, end = _tokenize(text, 0, 1, where=where, stop_at_brace=False)
    return tokens


def _tokenize(text: str, pos: int, line: int, *, where: str, stop_at_brace: bool) -> tuple[list[Token], int]:
    tokens: list[Token] = []
    depth = 0
    n = len(text)
    at_line_start = True
    while pos < n:
        ch = text[pos]
        if ch == "\n":
            tokens.append(Token("newline", "\n", line))
            line += 1
            pos += 1
            at_line_start = True
            continue
        if ch in " \t\r":
            pos += 1
            continue
        if text.startswith("//", pos):
            while pos < n and text[pos] != "\n":
                pos += 1
            continue
        if text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            if close < 0:
                raise BicepSyntaxError(f"{where}:{line}: unterminated /* comment")
            line += text.count("\n", pos, close)
            pos = close + 2
            continue
        if ch == "#" and at_line_start:  # #disable-next-line and friends
            while pos < n and text[pos] != "\n":
                pos += 1
            continue
        at_line_start = False
        if text.startswith("'''", pos):
            close = text.find("'''", pos + 3)
            if close < 0:
                raise BicepSyntaxError(f"{where}:{line}: unterminated ''' string")
            body = text[pos + 3 : close]
            tokens.append(Token("string", body, line, parts=(body,)))
            line += body.count("\n")
            pos = close + 3
            continue
        if ch == "'":
            token, pos, line = _string(text, pos, line, where=where)
            tokens.append(token)
            continue
        if ch.isdigit():
            start = pos
            while pos < n and text[pos].isdigit():
                pos += 1
            tokens.append(Token("number", text[start:pos], line))
            continue
        if ch.isalpha() or ch == "_":
            start = pos
            while pos < n and (text[pos].isalnum() or text[pos] == "_"):
                pos += 1
            tokens.append(Token("ident", text[start:pos], line))
            continue
        for punct in _PUNCT:
            if text.startswith(punct, pos):
                break
        else:
            raise BicepSyntaxError(f"{where}:{line}: unexpected character {ch!r}")
        if stop_at_brace:
            if punct == "{":
                depth += 1
            elif punct == "}":
                if depth == 0:
                    return tokens, pos + 1
                depth -= 1
        tokens.append(Token("punct", punct, line))
        pos += len(punct)
    if stop_at_brace:
        raise BicepSyntaxError(f"{where}:{line}: unterminated ${{...}} interpolation")
    return tokens, pos


def _string(text: str, pos: int, line: int, *, where: str) -> tuple[Token, int, int]:
    start_line = line
    start = pos
    pos += 1
    parts: list[str] = []
    interps: list[tuple[Token, ...]] = []
    current: list[str] = []
    while True:
        if pos >= len(text) or text[pos] == "\n":
            raise BicepSyntaxError(f"{where}:{start_line}: unterminated string")
        ch = text[pos]
        if ch == "\\":
            nxt = text[pos + 1 : pos + 2]
            if nxt == "u":
                close = text.find("}", pos)
                current.append(chr(int(text[pos + 3 : close], 16)))
                pos = close + 1
                continue
            if nxt not in _ESCAPES:
                raise BicepSyntaxError(f"{where}:{line}: unknown escape \\{nxt} in string")
            current.append(_ESCAPES[nxt])
            pos += 2
            continue
        if ch == "'":
            parts.append("".join(current))
            raw = text[start : pos + 1]
            return Token("string", raw, start_line, parts=tuple(parts), interps=tuple(interps)), pos + 1, line
        if text.startswith("${", pos):
            parts.append("".join(current))
            current = []
            inner, pos = _tokenize(text, pos + 2, line, where=where, stop_at_brace=True)
            interps.append(tuple(t for t in inner if t.kind != "newline"))
            continue
        current.append(ch)
        pos += 1


# ----------------------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class Expr:
    tokens: tuple[Token, ...]

    @property
    def line(self) -> int:
        return self.tokens[0].line if self.tokens else 0


@dataclass(frozen=True)
class ObjectNode:
    entries: tuple[tuple[str, "Node"], ...]
    line: int
    interpolated_keys: tuple[Token, ...] = ()  # keys like '${identityId}': their references count too

    def get(self, key: str) -> "Node | None":
        return next((value for name, value in self.entries if name == key), None)

    def keys(self) -> list[str]:
        return [name for name, _ in self.entries]


@dataclass(frozen=True)
class ArrayNode:
    items: tuple["Node", ...]
    line: int


@dataclass(frozen=True)
class ForNode:
    names: tuple[str, ...]
    iterable: Expr
    body: "Node"
    line: int


@dataclass(frozen=True)
class IfNode:
    condition: Expr
    body: "Node"
    line: int


Node = Expr | ObjectNode | ArrayNode | ForNode | IfNode


@dataclass(frozen=True)
class Decorated:
    decorators: dict[str, tuple[Token, ...]]  # name -> argument tokens (between the parentheses)
    line: int


@dataclass(frozen=True)
class Param(Decorated):
    name: str
    type_tokens: tuple[Token, ...]
    default: Node | None

    @property
    def nullable(self) -> bool:
        return bool(self.type_tokens) and self.type_tokens[-1].text == "?"

    @property
    def required(self) -> bool:
        return self.default is None and not self.nullable

    def description(self) -> str | None:
        args = self.decorators.get("description")
        if not args or args[0].kind != "string":
            return None
        return "".join(args[0].parts)

    def allowed(self) -> list[str] | None:
        args = self.decorators.get("allowed")
        if args is None:
            return None
        return [t.literal for t in args if t.kind == "string" and t.literal is not None]


@dataclass(frozen=True)
class Var(Decorated):
    name: str
    value: Node


@dataclass(frozen=True)
class Resource(Decorated):
    symbol: str
    type: str  # e.g. Microsoft.Storage/storageAccounts@2023-05-01
    existing: bool
    body: Node

    @property
    def type_name(self) -> str:
        return self.type.split("@", 1)[0]

    @property
    def api_version(self) -> str:
        return self.type.split("@", 1)[1] if "@" in self.type else ""


@dataclass(frozen=True)
class Module(Decorated):
    symbol: str
    path: str
    body: Node


@dataclass(frozen=True)
class Output(Decorated):
    name: str
    type_tokens: tuple[Token, ...]
    value: Node


@dataclass(frozen=True)
class Func(Decorated):
    name: str
    tokens: tuple[Token, ...]


@dataclass
class BicepFile:
    path: Path
    target_scope: str = "resourceGroup"
    params: dict[str, Param] = field(default_factory=dict)
    vars: dict[str, Var] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    modules: dict[str, Module] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    funcs: dict[str, Func] = field(default_factory=dict)
    comments_above: dict[int, str] = field(default_factory=dict)  # line -> comment block above it

    @property
    def symbols(self) -> set[str]:
        return set(self.params) | set(self.vars) | set(self.resources) | set(self.modules) | set(self.funcs)

    def expressions(self) -> Iterator[tuple[str, Node]]:
        """Every expression-bearing part of the file with a label naming its declaration."""
        for param in self.params.values():
            if param.default is not None:
                yield f"param {param.name}", param.default
        for var in self.vars.values():
            yield f"var {var.name}", var.value
        for resource in self.resources.values():
            yield f"resource {resource.symbol}", resource.body
        for module in self.modules.values():
            yield f"module {module.symbol}", module.body
        for output in self.outputs.values():
            yield f"output {output.name}", output.value
        for decorated in self.all_declarations():
            for name, args in decorated.decorators.items():
                yield f"@{name}", Expr(args)

    def all_declarations(self) -> Iterator[Decorated]:
        for table in (self.params, self.vars, self.resources, self.modules, self.outputs, self.funcs):
            yield from table.values()


def _split_statements(tokens: list[Token]) -> Iterator[list[Token]]:
    """Top-level statements: runs of tokens ending at a newline outside any bracket."""
    current: list[Token] = []
    depth = 0
    for token in tokens:
        if token.kind == "punct" and token.text in "{[(":
            depth += 1
        elif token.kind == "punct" and token.text in "}])":
            depth -= 1
        if token.kind == "newline" and depth == 0:
            if current:
                yield current
            current = []
            continue
        current.append(token)
    if current:
        yield current


def _matching(tokens: tuple[Token, ...] | list[Token], open_index: int) -> int:
    pairs = {"{": "}", "[": "]", "(": ")"}
    opener = tokens[open_index].text
    depth = 0
    for index in range(open_index, len(tokens)):
        token = tokens[index]
        if token.kind != "punct":
            continue
        if token.text in pairs:
            depth += 1
        elif token.text in pairs.values():
            depth -= 1
            if depth == 0:
                if token.text != pairs[opener]:
                    raise BicepSyntaxError(f"line {token.line}: {token.text!r} closes {opener!r}")
                return index
    raise BicepSyntaxError(f"line {tokens[open_index].line}: unclosed {opener!r}")


def parse_value(tokens: tuple[Token, ...], *, where: str) -> Node:
    """An object, array, for-expression, if-body or a plain expression."""
    tokens = tuple(tokens)
    significant = [t for t in tokens if t.kind != "newline"]
    if not significant:
        raise BicepSyntaxError(f"{where}: empty value")
    tokens = _strip_newlines(tokens)
    first = tokens[0]
    if first.kind == "ident" and first.text == "if":
        if tokens[1].text != "(":
            raise BicepSyntaxError(f"{where}:{first.line}: `if` without (condition)")
        close = _matching(tokens, 1)
        return IfNode(Expr(tokens[2:close]), parse_value(tokens[close + 1 :], where=where), first.line)
    if first.text == "{" and first.kind == "punct" and _matching(tokens, 0) == len(tokens) - 1:
        return _parse_object(tokens, where=where)
    if first.text == "[" and first.kind == "punct" and _matching(tokens, 0) == len(tokens) - 1:
        inner = _strip_newlines(tokens[1:-1])
        if inner and inner[0].kind == "ident" and inner[0].text == "for":
            return _parse_for(inner, where=where, line=first.line)
        return ArrayNode(tuple(parse_value(item, where=where) for item in _items(inner)), first.line)
    return Expr(tokens)


def _strip_newlines(tokens: tuple[Token, ...]) -> tuple[Token, ...]:
    start, end = 0, len(tokens)
    while start < end and tokens[start].kind == "newline":
        start += 1
    while end > start and tokens[end - 1].kind == "newline":
        end -= 1
    return tokens[start:end]


def _items(tokens: tuple[Token, ...]) -> Iterator[tuple[Token, ...]]:
    """Array items or object entries: split at newlines and commas outside brackets."""
    current: list[Token] = []
    depth = 0
    for token in tokens:
        if token.kind == "punct" and token.text in "{[(":
            depth += 1
        elif token.kind == "punct" and token.text in "}])":
            depth -= 1
        if depth == 0 and (token.kind == "newline" or (token.kind == "punct" and token.text == ",")):
            if current:
                yield tuple(current)
            current = []
            continue
        current.append(token)
    if current:
        yield tuple(current)


def _parse_object(tokens: tuple[Token, ...], *, where: str) -> ObjectNode:
    entries: list[tuple[str, Node]] = []
    interpolated: list[Token] = []
    for item in _items(tokens[1:-1]):
        key = item[0]
        if key.kind == "ident" and key.text == "resource":
            raise BicepSyntaxError(f"{where}:{key.line}: nested resource declarations are not supported here")
        if len(item) < 3 or item[1].text != ":" or key.kind not in ("ident", "string"):
            raise BicepSyntaxError(f"{where}:{key.line}: expected `key: value` in object, got {key.text!r}")
        if key.kind == "string" and key.literal is None:
            interpolated.append(key)
        name = key.text if key.kind == "ident" else (key.literal if key.literal is not None else key.text)
        entries.append((name, parse_value(item[2:], where=where)))
    return ObjectNode(tuple(entries), tokens[0].line, tuple(interpolated))


def _parse_for(tokens: tuple[Token, ...], *, where: str, line: int) -> ForNode:
    in_index = next(
        (i for i, t in enumerate(tokens) if t.kind == "ident" and t.text == "in"), None
    )
    if in_index is None:
        raise BicepSyntaxError(f"{where}:{line}: `for` without `in`")
    names = tuple(t.text for t in tokens[1:in_index] if t.kind == "ident")
    depth = 0
    for index in range(in_index + 1, len(tokens)):
        token = tokens[index]
        if token.kind == "punct" and token.text in "{[(":
            depth += 1
        elif token.kind == "punct" and token.text in "}])":
            depth -= 1
        elif depth == 0 and token.text == ":":
            return ForNode(names, Expr(tokens[in_index + 1 : index]), parse_value(tokens[index + 1 :], where=where), line)
    raise BicepSyntaxError(f"{where}:{line}: `for ... in ...` without `:`")


def parse_file(path: Path) -> BicepFile:
    """Parse one .bicep file into its declarations."""
    text = path.read_text(encoding="utf-8")
    where = str(path)
    result = BicepFile(path=path, comments_above=_comments_above(text))
    decorators: dict[str, tuple[Token, ...]] = {}
    decorator_line = 0
    for statement in _split_statements(tokenize(text, where=where)):
        head = statement[0]
        if head.kind == "punct" and head.text == "@":
            name = statement[1].text
            args: tuple[Token, ...] = ()
            if len(statement) > 2 and statement[2].text == "(":
                close = _matching(statement, 2)
                args = tuple(t for t in statement[3:close] if t.kind != "newline")
            decorators[name] = args
            decorator_line = decorator_line or head.line
            continue
        if head.kind != "ident" or head.text not in STATEMENT_KEYWORDS:
            raise BicepSyntaxError(f"{where}:{head.line}: unexpected {head.text!r} at top level")
        line = decorator_line or head.line
        _declare(result, head.text, statement, decorators, line, where=where)
        decorators = {}
        decorator_line = 0
    if decorators:
        raise BicepSyntaxError(f"{where}: decorators at the end of the file decorate nothing")
    return result


def _declare(
    result: BicepFile, keyword: str, statement: list[Token], decorators: dict, line: int, *, where: str
) -> None:
    tokens = tuple(statement)
    at = f"{where}:{tokens[0].line}"

    def equals_index() -> int:
        for index, token in enumerate(tokens):
            if token.kind == "punct" and token.text == "=":
                return index
        raise BicepSyntaxError(f"{at}: `{keyword}` without `=`")

    if keyword == "targetScope":
        result.target_scope = tokens[2].literal or ""
        return
    if keyword in ("metadata", "import", "type"):
        return
    name = tokens[1].text
    if tokens[1].kind != "ident":
        raise BicepSyntaxError(f"{at}: `{keyword}` needs a name")
    # Outputs have their own namespace (AVM modules output `name` next to `param name`).
    if (keyword != "output" and name in result.symbols) or (keyword == "output" and name in result.outputs):
        raise BicepSyntaxError(f"{at}: `{name}` is declared twice")
    if keyword == "param":
        eq = next((i for i, t in enumerate(tokens) if t.kind == "punct" and t.text == "="), None)
        type_tokens = tokens[2:eq] if eq is not None else tokens[2:]
        default = parse_value(tokens[eq + 1 :], where=at) if eq is not None else None
        result.params[name] = Param(decorators, line, name, type_tokens, default)
    elif keyword == "var":
        result.vars[name] = Var(decorators, line, name, parse_value(tokens[equals_index() + 1 :], where=at))
    elif keyword == "resource":
        if tokens[2].kind != "string" or tokens[2].literal is None:
            raise BicepSyntaxError(f"{at}: resource `{name}` needs a literal 'type@version'")
        existing = tokens[3].kind == "ident" and tokens[3].text == "existing"
        body = parse_value(tokens[equals_index() + 1 :], where=at)
        result.resources[name] = Resource(decorators, line, name, tokens[2].literal, existing, body)
    elif keyword == "module":
        if tokens[2].kind != "string" or tokens[2].literal is None:
            raise BicepSyntaxError(f"{at}: module `{name}` needs a literal path")
        body = parse_value(tokens[equals_index() + 1 :], where=at)
        result.modules[name] = Module(decorators, line, name, tokens[2].literal, body)
    elif keyword == "output":
        eq = equals_index()
        result.outputs[name] = Output(decorators, line, name, tokens[2:eq], parse_value(tokens[eq + 1 :], where=at))
    elif keyword == "func":
        result.funcs[name] = Func(decorators, line, name, tokens)


def _comments_above(text: str) -> dict[int, str]:
    """For each line, the // comment lines directly above it (joined), so checks can read intent."""
    result: dict[int, str] = {}
    block: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("//"):
            block.append(stripped[2:].strip())
            continue
        if block:
            result[number] = " ".join(block)
        block = []
    return result


# ----------------------------------------------------------------------------------------- analysis


def body_object(node: Node) -> ObjectNode | None:
    """The object of a resource/module body, looking through `if (...)` and `[for ...: ...]`."""
    while isinstance(node, (IfNode, ForNode)):
        node = node.body
    return node if isinstance(node, ObjectNode) else None


def iter_tokens(node: Node) -> Iterator[Token]:
    """Every token of a node (object keys excluded), for simple searches."""
    if isinstance(node, Expr):
        for token in node.tokens:
            yield token
            for inner in token.interps:
                yield from inner
    elif isinstance(node, ObjectNode):
        yield from iter_tokens(Expr(node.interpolated_keys))
        for _, value in node.entries:
            yield from iter_tokens(value)
    elif isinstance(node, ArrayNode):
        for item in node.items:
            yield from iter_tokens(item)
    elif isinstance(node, ForNode):
        yield from iter_tokens(node.iterable)
        yield from iter_tokens(node.body)
    elif isinstance(node, IfNode):
        yield from iter_tokens(node.condition)
        yield from iter_tokens(node.body)


def object_literals(tokens: tuple[Token, ...]) -> Iterator[ObjectNode]:
    """Every `{ ... }` literal inside an expression, outermost first."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind == "punct" and token.text == "{":
            close = _matching(tokens, index)
            yield _parse_object(tokens[index : close + 1], where="expression")
            index = close + 1
            continue
        index += 1


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
        cursor = _matching(tokens, cursor) + 1
    texts = [t.text for t in tokens[cursor : cursor + 4]]
    if len(texts) >= 4 and texts[0] in (".", ".?") and texts[1] == "outputs" and texts[2] in (".", ".?"):
        return texts[3]
    return None


def module_params(module: Module) -> ObjectNode | None:
    body = body_object(module.body)
    if body is None:
        return None
    params = body.get("params")
    return params if isinstance(params, ObjectNode) else None


def resolve_module(bicep: BicepFile, module: Module) -> Path:
    return (bicep.path.parent / module.path).resolve()


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
    problems = [
        f"{where}:{r.line}: `{r.name}` (in {r.context}) is not declared" for r in usage.unresolved
    ]
    problems += [f"{where}:{p.line}: param `{p.name}` is never used" for p in bicep.params.values() if p.name not in used]
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
            problems.append(f"{where}:{resource.line}: resource `{resource.symbol}` type {resource.type!r} lacks an api version")
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
            problems.append(f"{where}:{module.line}: module `{module.symbol}` passes `{key}`, which {module.path} does not declare")
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
            problems.append(f"{where}:{line}: `{symbol}.outputs.{output}` does not exist in {bicep.modules[symbol].path}")
    return problems
