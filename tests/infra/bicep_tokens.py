"""Bicep tokenizer: identifiers, strings with ${} interpolation, punctuation and significant newlines."""

from __future__ import annotations

from dataclasses import dataclass


class BicepSyntaxError(ValueError):
    """The file is not Bicep this parser understands; the message names file and line."""


@dataclass(frozen=True)
class Token:
    kind: str  # ident | string | number | punct | newline
    text: str
    line: int
    # Strings only: the literal text between interpolations, and each interpolation's tokens.
    parts: tuple[str, ...] = ()
    interps: tuple[tuple[Token, ...], ...] = ()

    @property
    def literal(self) -> str | None:
        """A string token's value when it has no interpolation, else None."""
        return self.parts[0] if self.kind == "string" and not self.interps else None


_PUNCT = (
    "=>",
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "??",
    "::",
    ".?",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ",",
    ":",
    ".",
    "=",
    "?",
    "!",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "%",
    "@",
    "|",
    "&",
    ";",
)
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


def matching(tokens: tuple[Token, ...] | list[Token], open_index: int) -> int:
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
