"""The FASTEXPR linter: syntax, names, signatures, argument kinds, look-ahead, lookback, units.

Why: a candidate that BRAIN (or our evaluator) would reject should be rejected before it costs a
simulation, with a message that says where and why; generators also use the diagnostics as a
filter. Contract: `check` never raises, whatever the input (a syntax error is a SYNTAX diagnostic
at the exact column; an analysis failure is an INTERNAL diagnostic), and returns diagnostics
sorted by position. Errors block; warnings (UNITS, UNUSED_VARIABLE, ...) do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.expr.ast import (
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
from alphamine.expr.diagnostics import Diagnostic, Severity
from alphamine.expr.kinds import FALLBACK_OPERATORS, UNKNOWN, Info, ValueType
from alphamine.expr.limits import CHECKER_FRAMES, recursion_room, too_complex
from alphamine.expr.operators import default_operators, symbol_table
from alphamine.expr.parser import ParseError, parse
from alphamine.opspec import ArgKind, BindError, Operator, Param, ParamError, suggest

# INT params whose negative values mean "days into the future".
_TIME_PARAMS = frozenset({"lag", "d", "delay", "lookback", "days", "period", "window"})
_CONST_KINDS = (ArgKind.LOOKBACK, ArgKind.INT, ArgKind.NUMBER, ArgKind.BOOL, ArgKind.STRING)
_GROUP_FIELDS_SHOWN = 6  # group fields named in a GROUP_MISUSE hint

NAMED_CONSTANTS: dict[str, float] = {"nan": float("nan"), "NaN": float("nan"), "inf": float("inf")}
"""Bare words that stand for numbers when no field or variable has that name (`x > 0 ? x : nan`)."""

def check(program: Program | Node | str, catalogue: Mapping[str, FieldInfo], *,
          operators: Mapping[str, Operator] | None = None, n_days: int | None = None) -> list[Diagnostic]:
    """Lint a program (or source text). `n_days`: available history; longer cumulative lookbacks are
    errors. `operators` defaults to the global registry. A program beyond `expr.limits` (depth or size
    once variables are substituted) gives one TOO_COMPLEX error and is not analysed further."""
    try:
        if isinstance(program, str):
            try:
                program = parse(program)
            except ParseError as e:
                return [Diagnostic("SYNTAX", "error", e.message, e.span,
                                   f"expected {', '.join(e.expected)}" if e.expected else None)]
        if not isinstance(program, Program):
            program = Program((), program)
        why = too_complex(inline(program))
        if why is not None:
            return [Diagnostic("TOO_COMPLEX", "error", why, program.result.span,
                               "split it into smaller alphas, or simplify it")]
        ops = default_operators() if operators is None else operators
        with recursion_room(CHECKER_FRAMES):
            return _Checker(catalogue, ops, n_days).run(program)
    except RecursionError:  # pragma: no cover - the limits above keep the checker within its frames
        return [Diagnostic("TOO_COMPLEX", "error", "expression nested too deeply to analyse")]
    except Exception as e:  # the contract is "never raises"; report instead
        return [Diagnostic("INTERNAL", "error", f"checker failure: {type(e).__name__}: {e}")]


def infer(node: Node | str, catalogue: Mapping[str, FieldInfo], *,
          operators: Mapping[str, Operator] | None = None) -> Info:
    """Type, unit and cumulative lookback of an expression (a program's result); diagnostics dropped."""
    program = parse(node) if isinstance(node, str) else node
    if not isinstance(program, Program):
        program = Program((), program)
    checker = _Checker(catalogue, default_operators() if operators is None else operators, None)
    with recursion_room(CHECKER_FRAMES):
        checker.run(program)
    return checker.result


def infer_type(node: Node | str, catalogue: Mapping[str, FieldInfo], *,
               operators: Mapping[str, Operator] | None = None) -> ValueType:
    """MATRIX / GROUP / VECTOR / CONSTANT for an expression (see `infer`)."""
    return infer(node, catalogue, operators=operators).type


def _name_span(call: Call) -> Span | None:
    s = call.span
    if s is None:
        return None
    n = len(call.func)
    return Span(s.start, s.start + n, s.line, s.column, s.line, s.column + n)


def _const_of(node: Node) -> Any:
    if isinstance(node, Number | Bool | String):
        return node.value
    if isinstance(node, Unary) and node.op in "+-" and isinstance(node.operand, Number):
        return -node.operand.value if node.op == "-" else node.operand.value
    return None


class _Checker:
    def __init__(self, catalogue: Mapping[str, FieldInfo], ops: Mapping[str, Operator],
                 n_days: int | None) -> None:
        self.catalogue = catalogue
        self.ops = ops
        self.symbols = symbol_table(ops)
        self.n_days = n_days
        self.diags: list[Diagnostic] = []
        self.env: dict[str, Info] = {}
        self.used: dict[str, bool] = {}
        self.assign_span: dict[str, Span | None] = {}
        self.later: set[str] = set()
        self.result = UNKNOWN

    def report(self, code: str, severity: Severity, message: str, span: Span | None,
               hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, severity, message, span, hint))

    # ------------------------------------------------------------------ program level
    def run(self, program: Program) -> list[Diagnostic]:
        statements = program.assignments
        for i, a in enumerate(statements):
            self.later = {s.name for s in statements[i + 1:]}
            info = self.infer(a.value)
            if a.name in self.env and not self.used[a.name]:
                self._unused(a.name)
            if a.name in self.catalogue:
                self.report("SHADOWED_FIELD", "warning", f"variable {a.name!r} hides the data field of the "
                            "same name", a.span, "rename the variable")
            self.env[a.name] = info
            self.used[a.name] = False
            self.assign_span[a.name] = a.span
        self.later = set()
        result = self.infer(program.result)
        self.result = result
        where = program.result.span
        if not result.bad:
            if result.type is ValueType.VECTOR:
                self.report("VECTOR_UNREDUCED", "error", f"the alpha is a VECTOR field ({result.name}); "
                            "reduce it to a matrix first", where, "e.g. vec_avg(...)")
            elif result.type is ValueType.GROUP:
                self.report("GROUP_MISUSE", "error" if result.is_field else "warning",
                            "the alpha is a grouping (integer group codes), not a signal", where,
                            "use it as the group argument of a group_* operator")
            elif result.type is ValueType.CONSTANT and isinstance(result.const, str):
                self.report("ARG_KIND", "error", "the alpha is a string, not a numeric expression", where)
        for name, used in self.used.items():
            if not used:
                self._unused(name)
        return sorted(self.diags, key=lambda d: (d.span.start if d.span else -1, d.code))

    def _unused(self, name: str) -> None:
        self.report("UNUSED_VARIABLE", "warning", f"variable {name!r} is assigned but never used",
                    self.assign_span.get(name), "BRAIN blocks submission of alphas with unused variables")

    # ------------------------------------------------------------------ expressions
    def infer(self, node: Node) -> Info:
        if isinstance(node, Number | Bool | String):
            return Info(ValueType.CONSTANT, node.value)
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, Unary):
            if node.op in "+-":
                inner = self.infer(node.operand) if node.op == "+" else None
                if inner is not None:
                    return inner
                if isinstance(node.operand, Number):
                    return Info(ValueType.CONSTANT, -node.operand.value)
            key = "neg" if node.op == "-" else node.op
            return self.apply(node, self.symbols.get(key, key), [node.operand], (), infix=True)
        if isinstance(node, Binary):
            return self.apply(node, self.symbols.get(node.op, node.op), [node.left, node.right], (), infix=True)
        if isinstance(node, Ternary):
            return self.apply(node, self.symbols.get("?:", "if_else"), [node.cond, node.then, node.otherwise],
                              (), infix=True)
        if isinstance(node, Call):
            return self.apply(node, node.func, list(node.args), node.kwargs, infix=False)
        self.report("SYNTAX", "error", f"unexpected {type(node).__name__} inside an expression", node.span)
        return UNKNOWN

    def name(self, node: Name) -> Info:
        if node.id in self.env:
            self.used[node.id] = True
            return self.env[node.id]
        field = self.catalogue.get(node.id)
        if field is not None and field.type is FieldType.UNIVERSE:
            self.report("UNKNOWN_FIELD", "error", f"{node.id!r} is a universe, not a data field", node.span,
                        f"choose the universe in the simulation settings (universe={node.id})")
            return UNKNOWN
        if field is not None:
            unit = None if field.unit is Unit.NONE else field.unit
            vt = ValueType.of_field(field.type)
            return Info(vt, unit=unit, is_field=field.type is not FieldType.MATRIX, name=node.id)
        if node.id in NAMED_CONSTANTS:
            return Info(ValueType.CONSTANT, const=NAMED_CONSTANTS[node.id])
        if node.id in self.later:
            self.report("UNDEFINED_VARIABLE", "error", f"variable {node.id!r} is used before it is assigned",
                        node.span, "move the assignment above its first use")
            return UNKNOWN
        close = suggest(node.id, [*self.catalogue, *self.env])
        self.report("UNKNOWN_FIELD", "error", f"unknown field or variable {node.id!r}", node.span,
                    f"did you mean {' or '.join(close)}?" if close else None)
        return UNKNOWN

    def apply(self, node: Node, name: str, args: list[Node], kwargs: tuple[Keyword, ...], infix: bool) -> Info:
        op = self.ops.get(name) or (FALLBACK_OPERATORS.get(name) if infix else None)
        where = _name_span(node) if isinstance(node, Call) else node.span
        if op is None:
            close = suggest(name, list(self.ops))
            self.report("UNKNOWN_OPERATOR", "error", f"unknown operator {name!r}", where,
                        f"did you mean {' or '.join(close)}?" if close else None)
            self._infer_all(args, kwargs)
            return UNKNOWN
        seen: dict[str, Node] = {}
        for k in kwargs:
            if k.name in seen:
                self.report("KEYWORD", "error", f"{name}: argument {k.name!r} given twice", k.span)
            else:
                seen[k.name] = k.value
        try:
            bound = op.bind(args, seen)
        except BindError as e:
            text = str(e)
            code = "KEYWORD" if any(s in text for s in ("no parameter", "given twice", "by keyword")) else "ARITY"
            at = next((k.span for k in kwargs if code == "KEYWORD" and repr(k.name) in text), where)
            self.report(code, "error", text, at, f"signature: {op.signature}")
            self._infer_all(args, kwargs)
            return UNKNOWN
        infos: dict[str, list[Info]] = {}
        consts: dict[str, Any] = {}
        bad = False
        for p in op.params:
            if p.name not in bound:
                if p.kind.is_constant and not p.required:
                    consts[p.name] = p.default
                continue
            value = bound[p.name]
            values = value if isinstance(value, list) else [value]
            infos[p.name] = [self.argument(op, p, v) for v in values]
            bad = bad or any(i.bad for i in infos[p.name])
            if p.kind.is_constant and not isinstance(value, list):
                consts[p.name] = infos[p.name][0].const
        if not bad and op.validate is not None:
            bad = not self._validate(op, consts, bound, where)
        child_lb = max((i.lookback for lst in infos.values() for i in lst), default=0)
        own = 0
        if not bad:
            try:
                own = max(int(op.lookback(consts)), 0)
            except Exception:
                own = 0
        total = own + child_lb
        if self.n_days is not None and total > self.n_days >= child_lb:
            self.report("LOOKBACK_TOO_LONG", "error",
                        f"cumulative lookback of {total} days exceeds the {self.n_days} days of history",
                        node.span, "shorten the windows (nested windows add up)")
            bad = True
        unit = self.units(op, node, infos, infix)
        out = op.output
        vt = ValueType.GROUP if out is FieldType.GROUP else ValueType.VECTOR if out is FieldType.VECTOR \
            else ValueType.MATRIX
        return Info(vt, unit=unit, lookback=total, bad=bad)

    def _validate(self, op: Operator, consts: dict[str, Any], bound: Mapping[str, Any], where: Span | None) -> bool:
        """The operator's cross-argument rule (`Operator.validate`, the one the evaluator applies too);
        a breach is an ARG_KIND error at the argument it names (at the call when it was left default)."""
        assert op.validate is not None
        try:
            op.validate(consts)
        except ParamError as e:
            arg = bound.get(e.param) if e.param is not None else None
            at = arg.span if isinstance(arg, Node) and arg.span is not None else where
            self.report("ARG_KIND", "error", str(e), at)
            return False
        return True

    def _infer_all(self, args: list[Node], kwargs: tuple[Keyword, ...]) -> None:
        for a in [*args, *(k.value for k in kwargs)]:
            self.infer(a)

    # ------------------------------------------------------------------ arguments
    def argument(self, op: Operator, p: Param, node: Node) -> Info:
        if p.kind in _CONST_KINDS:
            return self.constant(op, p, node)
        info = self.infer(node)
        if info.bad:
            return info
        what = f"{op.name}'s {p.name}"
        if info.type is ValueType.VECTOR and p.kind is not ArgKind.VECTOR:
            self.report("VECTOR_UNREDUCED", "error", f"VECTOR field {info.name or ''} used in {what}; "
                        "vector fields must be reduced first", node.span, "wrap it in vec_avg, vec_sum, ...")
            return _bad(info)
        if p.kind is ArgKind.SERIES:
            if info.type is ValueType.GROUP:
                if info.is_field:
                    self.report("GROUP_MISUSE", "error", f"grouping field {info.name} used outside a group "
                                f"parameter (in {what})", node.span, "grouping data may only feed group operators")
                    return _bad(info)
                self.report("GROUP_MISUSE", "warning", f"group codes used as numbers in {what}", node.span)
            elif info.type is ValueType.CONSTANT and isinstance(info.const, str):
                self.report("ARG_KIND", "error", f"{what} expects a numeric expression, got a string", node.span)
                return _bad(info)
        elif p.kind is ArgKind.GROUP:
            if info.type is ValueType.CONSTANT and isinstance(info.const, str):
                self.report("ARG_KIND", "error", f"{what} expects a grouping, got a string", node.span)
                return _bad(info)
            if info.type is not ValueType.GROUP:
                # BRAIN rejects a non-group input to a group operator; codes are never made up from values.
                got = (f"the {info.type.value} field {info.name}" if info.name and info.name in self.catalogue
                       else "a constant" if info.type is ValueType.CONSTANT else "a numeric expression")
                self.report("GROUP_MISUSE", "error", f"{what} expects a grouping, got {got}", node.span,
                            self._group_hint())
                return _bad(info)
        elif p.kind is ArgKind.VECTOR and info.type is not ValueType.VECTOR:
            self.report("ARG_KIND", "error", f"{what} expects a VECTOR field, got a {info.type.value.lower()}",
                        node.span)
            return _bad(info)
        return info

    def _group_hint(self) -> str:
        groups = [n for n, f in self.catalogue.items() if f.type is FieldType.GROUP]
        shown = ", ".join(groups[:_GROUP_FIELDS_SHOWN]) + (", ..." if len(groups) > _GROUP_FIELDS_SHOWN else "")
        fields = f"a GROUP field ({shown})" if groups else "a GROUP field"
        return f"use {fields}, or make groups with bucket(...) or densify(...)"

    def constant(self, op: Operator, p: Param, node: Node) -> Info:
        what = f"{op.name}'s {p.name}"
        value = _const_of(node)
        if value is None and isinstance(node, Name):
            if node.id in self.env:
                self.used[node.id] = True
                value = self.env[node.id].const if self.env[node.id].type is ValueType.CONSTANT else None
            elif p.kind is ArgKind.STRING and node.id not in self.catalogue:
                value = node.id  # a bare word: driver=gaussian
        if value is None:
            inner = self.infer(node)
            if not inner.bad:
                self.report("ARG_KIND", "error", f"{what} must be a constant {p.kind.value}, not an expression",
                            node.span, "lookbacks and options cannot be computed")
            return _bad(inner)
        ok = True
        if p.kind is ArgKind.STRING:
            if not isinstance(value, str):
                ok = self._kind_error(what, "a string", node)
            elif (why := p.violation(value)) is not None:
                ok = self._kind_error(what, why, node)
        elif p.kind is ArgKind.BOOL:
            if not isinstance(value, bool) and value not in (0, 1):
                ok = self._kind_error(what, "true or false", node)
        elif isinstance(value, str) or (isinstance(value, bool) and p.kind is not ArgKind.NUMBER):
            ok = self._kind_error(what, f"a {p.kind.value}", node)
        elif p.kind in (ArgKind.LOOKBACK, ArgKind.INT) and not float(value).is_integer():
            ok = self._kind_error(what, "an integer", node)
        elif value < 0 and (p.kind is ArgKind.LOOKBACK or p.name in _TIME_PARAMS):
            self.report("LOOKAHEAD", "error", f"{what} = {_num(value)} is negative: it would read future data "
                        "(look-ahead)", node.span, "delays and windows count days into the past")
            ok = False
        elif p.kind is ArgKind.LOOKBACK and value == 0:
            ok = self._kind_error(what, "a positive integer (days)", node)
        elif (why := p.violation(value)) is not None:  # the declaration's bounds (minimum, maximum, caps)
            ok = self._kind_error(what, why, node)
        if p.kind in (ArgKind.LOOKBACK, ArgKind.INT) and ok and not isinstance(value, str):
            value = int(value)
        elif p.kind is ArgKind.NUMBER and ok:
            value = float(value)
        elif p.kind is ArgKind.BOOL and ok:
            value = bool(value)
        return Info(ValueType.CONSTANT, value, bad=not ok)

    def _kind_error(self, what: str, expected: str, node: Node) -> bool:
        self.report("ARG_KIND", "error", f"{what} must be {expected}", node.span)
        return False

    # ------------------------------------------------------------------ units
    def units(self, op: Operator, node: Node, infos: dict[str, list[Info]], infix: bool) -> Unit | None:
        series: list[Info] = []
        skip_first = op.symbol == "?:" or op.name == "if_else"
        for i, p in enumerate(op.params):
            if p.kind is ArgKind.SERIES and p.name in infos and not (skip_first and i == 0):
                series.extend(infos[p.name])
        rule = op.unit_rule
        if rule == "first":
            return series[0].unit if series else None
        if rule != "same":
            return None
        known = [(i.unit, i.name) for i in series if i.unit is not None]
        if len({u for u, _ in known}) > 1:
            desc = ", ".join(f"{n or 'expression'} ({u.value})" for u, n in known if u is not None)
            self.report("UNITS", "warning", f"incompatible units in {op.symbol if infix and op.symbol else op.name}:"
                        f" {desc}", node.span, "combine like with like, or normalize first (rank, zscore)")
        return known[0][0] if known else None


def _bad(info: Info) -> Info:
    return Info(info.type, info.const, info.unit, info.lookback, info.is_field, True, info.name)


def _num(v: Any) -> str:
    return str(int(v)) if isinstance(v, int | float) and float(v).is_integer() else str(v)
