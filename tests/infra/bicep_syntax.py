"""Bicep declarations and bodies: param/var/resource/module/output/func, objects, arrays, for and if."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.infra.bicep_tokens import BicepSyntaxError, Token, matching, tokenize

STATEMENT_KEYWORDS = frozenset(
    {"targetScope", "param", "var", "resource", "module", "output", "metadata", "import", "type", "func"}
)


@dataclass(frozen=True)
class Expr:
    tokens: tuple[Token, ...]

    @property
    def line(self) -> int:
        return self.tokens[0].line if self.tokens else 0


@dataclass(frozen=True)
class ObjectNode:
    entries: tuple[tuple[str, Node], ...]
    line: int
    interpolated_keys: tuple[Token, ...] = ()  # keys like '${identityId}': their references count too

    def get(self, key: str) -> Node | None:
        return next((value for name, value in self.entries if name == key), None)

    def keys(self) -> list[str]:
        return [name for name, _ in self.entries]


@dataclass(frozen=True)
class ArrayNode:
    items: tuple[Node, ...]
    line: int


@dataclass(frozen=True)
class ForNode:
    names: tuple[str, ...]
    iterable: Expr
    body: Node
    line: int


@dataclass(frozen=True)
class IfNode:
    condition: Expr
    body: Node
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
        close = matching(tokens, 1)
        return IfNode(Expr(tokens[2:close]), parse_value(tokens[close + 1 :], where=where), first.line)
    if first.text == "{" and first.kind == "punct" and matching(tokens, 0) == len(tokens) - 1:
        return _parse_object(tokens, where=where)
    if first.text == "[" and first.kind == "punct" and matching(tokens, 0) == len(tokens) - 1:
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
    in_index = next((i for i, t in enumerate(tokens) if t.kind == "ident" and t.text == "in"), None)
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
            return ForNode(
                names, Expr(tokens[in_index + 1 : index]), parse_value(tokens[index + 1 :], where=where), line
            )
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
                close = matching(statement, 2)
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
            close = matching(tokens, index)
            yield _parse_object(tokens[index : close + 1], where="expression")
            index = close + 1
            continue
        index += 1


def module_params(module: Module) -> ObjectNode | None:
    body = body_object(module.body)
    if body is None:
        return None
    params = body.get("params")
    return params if isinstance(params, ObjectNode) else None


def resolve_module(bicep: BicepFile, module: Module) -> Path:
    return (bicep.path.parent / module.path).resolve()
