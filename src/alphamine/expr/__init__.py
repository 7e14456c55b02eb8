"""FASTEXPR, the BRAIN expression language: grammar, AST, parser, checker, canonical printer, rewrites.

Layout (sqlglot-like): `grammar.lark` + `parser` (text -> tree), `ast` (immutable nodes, `inline`),
`printer` (exact printer, normalizer, canonical text and hash), `checker` (lint diagnostics and type
inference), `walk` (traversals and rewrites for the mutation-based generators).
"""

from alphamine.expr.ast import (
    Assign,
    Binary,
    Bool,
    Call,
    Keyword,
    Name,
    Node,
    Number,
    Program,
    Span,
    String,
    Ternary,
    Unary,
    inline,
)
from alphamine.expr.checker import check, infer, infer_type
from alphamine.expr.diagnostics import CODES, Diagnostic
from alphamine.expr.kinds import Info, ValueType
from alphamine.expr.parser import ParseError, parse, parse_expression
from alphamine.expr.printer import canonical, normalize, structural_hash, to_source
from alphamine.expr.walk import (
    LookbackUse,
    children,
    depth,
    fields_used,
    lookbacks,
    map_nodes,
    operator_count,
    operators_used,
    replace,
    walk,
    walk_paths,
)

__all__ = [
    "CODES",
    "Assign",
    "Binary",
    "Bool",
    "Call",
    "Diagnostic",
    "Info",
    "Keyword",
    "LookbackUse",
    "Name",
    "Node",
    "Number",
    "ParseError",
    "Program",
    "Span",
    "String",
    "Ternary",
    "Unary",
    "ValueType",
    "canonical",
    "check",
    "children",
    "depth",
    "fields_used",
    "infer",
    "infer_type",
    "inline",
    "lookbacks",
    "map_nodes",
    "normalize",
    "operator_count",
    "operators_used",
    "parse",
    "parse_expression",
    "replace",
    "structural_hash",
    "to_source",
    "walk",
    "walk_paths",
]
