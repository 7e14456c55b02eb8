"""Compact text views of what the prompts show a model: catalogue, operators, settings, evidence.

Why a module of its own: every prompt template (`alphamine.llm.prompts`) receives plain strings, so
what a model may see is decided here, in one place, and tested. Two contracts hold for every view:

- **No data values.** The catalogue view shows field names, type, unit, coverage and category, i.e.
  metadata and summary statistics, never a value of the panel (a prompt leaves the machine).
- **Compact.** A make-v1 prompt for the bundled sample (~90 fields, 144 operators) stays under ~6k
  tokens: fields sharing category, type, unit and coverage are listed on one line, operators are
  grouped by category, numbers are printed with three significant digits.

Evidence views read in-sample metrics only: when a metrics mapping has an "is" part, only that part
is shown (nothing in the pipeline may select on OS, a model included).

The last section reads saved forum posts and notes (markdown, HTML, text) as plain text for learn-v1
and scores their sentences for the deterministic extractor of `alphamine.llm.knowledge.learn`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alphamine.data.fields import FieldInfo, FieldType

EVIDENCE_METRICS = ("sharpe", "fitness", "turnover", "returns", "drawdown", "margin")
"""The metrics shown per candidate, in this order (those absent are skipped)."""

CATEGORY_ORDER = ("arithmetic", "logical", "time_series", "cross_sectional", "group", "vector", "transformational")
SETTINGS_KEYS = ("region", "universe", "delay", "decay", "neutralization", "truncation", "pasteurization",
                 "nanHandling", "maxTrade")


def num(value: Any) -> str:
    """A number in at most three significant digits ("n/a" for None or NaN); other values as text."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "n/a"
        return f"{value:.3g}"
    return str(value)


def catalogue_view(catalogue: Mapping[str, FieldInfo], limit: int = 400) -> str:
    """The fields a model may use, one line per (category, type, unit, coverage) group.

    Coverage is the catalogue's summary statistic (mean fraction of the universe with a value), shown in
    whole percent; `~` marks an approximate field. UNIVERSE entries are listed apart (a universe is a
    setting, not a field). At most `limit` fields are named; the rest are counted, never silently lost.
    """
    groups: dict[tuple[str, str, str, int], list[str]] = {}
    universes: list[str] = []
    shown = 0
    for info in catalogue.values():
        if info.type == FieldType.UNIVERSE:
            universes.append(info.name)
            continue
        if shown >= limit:
            continue
        key = (info.category, info.type.value, info.unit.value, round(100 * info.coverage))
        groups.setdefault(key, []).append(info.name + ("~" if info.approximate else ""))
        shown += 1
    lines = [
        f"{cat} {typ} unit={unit} coverage={cov}%: {', '.join(names)}"
        for (cat, typ, unit, cov), names in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], -kv[0][3]))
    ]
    hidden = sum(1 for i in catalogue.values() if i.type != FieldType.UNIVERSE) - shown
    if hidden > 0:
        lines.append(f"(+{hidden} more fields not listed)")
    if universes:
        lines.append(f"universes (settings, not fields): {', '.join(universes)}")
    if any(i.approximate for i in catalogue.values()):
        lines.append("~ = approximate stand-in for the real field")
    return "\n".join(lines)


def operator_view(operators: Mapping[str, Any], names: Iterable[str] | None = None) -> str:
    """Operator signatures grouped by category, one line per category (`Operator.signature`), in a
    fixed order (categories as `CATEGORY_ORDER`, names sorted) whatever the registry's order, so the
    same operators always render the same prompt.

    `names` restricts the view (an agent that only repairs needs fewer); unknown names are ignored.
    """
    wanted = set(names) if names is not None else None
    groups: dict[str, list[str]] = {}
    for name in sorted(operators):
        if wanted is not None and name not in wanted:
            continue
        op = operators[name]
        category = getattr(getattr(op, "category", None), "value", "other")
        groups.setdefault(category, []).append(op.signature)
    order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    cats = sorted(groups, key=lambda c: (order.get(c, len(order)), c))
    return "\n".join(f"{cat}: {'; '.join(groups[cat])}" for cat in cats)


def settings_view(settings: Any) -> str:
    """The simulation settings that matter to a researcher, BRAIN spelling (a `Settings` or a mapping)."""
    data: Mapping[str, Any] = settings.to_brain() if hasattr(settings, "to_brain") else dict(settings)
    parts = [f"{k}={num(data[k])}" for k in SETTINGS_KEYS if k in data]
    return ", ".join(parts)


def _in_sample(metrics: Any) -> Any:
    if isinstance(metrics, Mapping) and isinstance(metrics.get("is"), Mapping):
        return metrics["is"]
    return metrics


def _metric(metrics: Any, key: str) -> Any:
    if isinstance(metrics, Mapping):
        return metrics.get(key)
    return getattr(metrics, key, None)


def metrics_view(metrics: Any, keys: Sequence[str] = EVIDENCE_METRICS) -> str:
    """`sharpe=1.42 fitness=1.1 ...` from a metrics mapping (IS part only) or an `Evidence`."""
    m = _in_sample(metrics)
    return " ".join(f"{k}={num(v)}" for k in keys if (v := _metric(m, k)) is not None)


def _expression_of(item: Any) -> tuple[str, Any]:
    if isinstance(item, tuple):
        return str(item[0]), item[1]
    return str(item.expression), getattr(item, "metrics", getattr(item, "evidence", None))


def evidence_view(best: Sequence[Any], worst: Sequence[Any] = (), limit: int = 5) -> str:
    """What worked and what did not: each item is (expression, metrics) or an object with
    `.expression` and `.metrics` (or `.evidence`). At most `limit` of each, IS metrics only."""
    lines: list[str] = []
    for title, items in (("best so far", best), ("worst so far", worst)):
        if not items:
            continue
        lines.append(f"{title}:")
        for item in list(items)[:limit]:
            expression, metrics = _expression_of(item)
            lines.append(f"- {expression}  [{metrics_view(metrics)}]")
    return "\n".join(lines) if lines else "(no simulated candidates yet)"


def saturated_view(saturated: Iterable[Iterable[str]] = (), stale_fields: Iterable[str] = ()) -> str:
    """Where not to go: field families already holding their share of the ready set (the gate's family
    cap) and fields whose values stop updating (the gate's DATA_FRESHNESS holds those back)."""
    families = sorted("{" + ", ".join(sorted(f)) + "}" for f in saturated)
    stale = sorted(stale_fields)
    lines = []
    if families:
        lines.append("saturated field families (avoid reading exactly these): " + "; ".join(families))
    if stale:
        lines.append("stale fields (values stop updating, avoid): " + ", ".join(stale))
    return "\n".join(lines) if lines else "(nothing saturated)"


def checks_view(checks: Mapping[str, Any] | Iterable[str]) -> str:
    """Failed checks: a mapping check -> PASS/FAIL/... (only FAIL and WARNING shown) or check names."""
    if isinstance(checks, Mapping):
        items = [f"{k} {v}" for k, v in checks.items() if str(v).upper() in ("FAIL", "WARNING")]
    else:
        items = [str(c) for c in checks]
    return ", ".join(items) if items else "(none failed)"


def yearly_view(rows: Sequence[Mapping[str, Any]], keys: Sequence[str] = ("sharpe", "turnover", "returns")) -> str:
    """A compact yearly table: one `year: sharpe=.. turnover=..` line per row (`year` key required)."""
    return "\n".join(f"{row.get('year', '?')}: {metrics_view(row, keys)}" for row in rows) or "(no yearly table)"


def lineage_view(steps: Sequence[Any]) -> str:
    """The candidate's ancestry, root first: strings, or mappings with expression / strategy / params."""
    lines = []
    for i, step in enumerate(steps):
        if isinstance(step, Mapping):
            how = step.get("strategy") or "root"
            params = step.get("params") or {}
            extra = " " + ", ".join(f"{k}={num(v)}" for k, v in params.items()) if params else ""
            lines.append(f"{i}. [{how}{extra}] {step.get('expression', '')}")
        else:
            lines.append(f"{i}. {step}")
    return "\n".join(lines) if lines else "(no ancestors)"


def diagnostics_view(diagnostics: Sequence[Any], source: str | None = None) -> str:
    """Lint diagnostics (`Diagnostic` objects with `.format`, or mappings of their JSON form)."""
    lines = []
    for d in diagnostics:
        if hasattr(d, "format"):
            lines.append(d.format(source))
        else:
            hint = f" ({d['hint']})" if d.get("hint") else ""
            lines.append(f"{d.get('severity', 'error')} {d.get('code', '?')}: {d.get('message', '')}{hint}")
    return "\n".join(lines) if lines else "(no diagnostics)"


def neighbours_view(neighbours: Sequence[Mapping[str, Any]]) -> str:
    """The nearest ready alphas for the critic: id, expression, structural similarity, PnL correlation."""
    lines = []
    for n in neighbours:
        lines.append(
            f"- #{n.get('id', '?')} {n.get('expression', '')}  [structure similarity={num(n.get('structure'))}, "
            f"PnL correlation={num(n.get('correlation'))}]"
        )
    return "\n".join(lines) if lines else "(no ready alphas yet)"


# ---- saved posts and notes (learn-v1 and the keyword extractor of `knowledge.learn`) ----------------

SOURCE_KINDS = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
                ".html": "html", ".htm": "html"}
CHECK_NAMES = ("LOW_SHARPE", "LOW_FITNESS", "LOW_TURNOVER", "HIGH_TURNOVER", "CONCENTRATED_WEIGHT",
               "LOW_SUB_UNIVERSE_SHARPE", "SELF_CORRELATION", "IS_LADDER_SHARPE", "DATA_LENGTH", "UNITS",
               "DATA_FRESHNESS")
"""The platform's and the gate's check names (`alphamine.sim.checks`; kept here so reading notes
imports no simulator)."""
BRAIN_TERMS = frozenset({
    "close", "open", "high", "low", "volume", "vwap", "returns", "adv20", "cap", "sharesout",
    "decay", "neutralization", "neutralize", "truncation", "turnover", "sharpe", "fitness", "drawdown",
    "universe", "coverage", "backfill", "correlation", "fundamental", "fundamentals", "sector", "industry",
    "subindustry", "delay", "margin", "pasteurization", "liquidity", "outliers", "winsorize",
})
_STOP = frozenset({"the", "and", "for", "with", "from", "into", "about", "how", "what", "when", "why", "use",
                   "using", "are", "is", "of", "on", "in", "to", "a", "an", "or", "vs"})
_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "pre", "blockquote", "section",
                         "article", "h1", "h2", "h3", "h4", "h5", "h6", "title", "table"})


def _html_text(html: str) -> tuple[str | None, str]:
    """(title, text) of an HTML page: tags stripped with the stdlib parser, script/style dropped."""
    from html.parser import HTMLParser

    class Strip(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.title: list[str] = []
            self.heading: list[str] = []
            self.stack: list[str] = []

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag in _BLOCK_TAGS:
                self.parts.append("\n")
            if tag not in ("br", "img", "hr", "meta", "link", "input"):
                self.stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            if tag in _BLOCK_TAGS:
                self.parts.append("\n")

        def handle_data(self, data: str) -> None:
            if any(t in ("script", "style") for t in self.stack):
                return
            if "title" in self.stack:
                self.title.append(data)
                return
            if "h1" in self.stack:
                self.heading.append(data)
            self.parts.append(data)

    s = Strip()
    s.feed(html)
    s.close()
    title = " ".join("".join(s.title or s.heading).split()) or None
    return title, "".join(s.parts)


def read_source(path: Path) -> tuple[str, str] | None:
    """(title, plain text) of a saved post or note, None for a file that is not markdown/HTML/text.
    The title is the HTML <title> or first <h1>, the first markdown `# ` heading, else the file stem."""
    kind = SOURCE_KINDS.get(path.suffix.lower())
    if kind is None:
        return None
    raw = path.read_text(encoding="utf-8")
    if kind == "html":
        title, text = _html_text(raw)
        return title or path.stem, text
    m = re.search(r"^#[ \t]+(.+?)[ \t]*$", raw, re.M) if kind == "markdown" else None
    return (m.group(1) if m else path.stem), raw


def split_sentences(text: str) -> list[str]:
    """Sentences of a plain or markdown text: markup stripped (headings, bullets, quotes, emphasis,
    code fences kept as text), whitespace collapsed, 20-400 characters."""
    out: list[str] = []
    text = re.sub(r"^([ \t]*#{1,6}[ \t].*)$", r"\1\n", text, flags=re.M)  # a heading ends its paragraph
    for para in re.split(r"\n[ \t]*\n|\n(?=[ \t]*(?:[-*+>#]|\d+\.)[ \t])", text):
        para = re.sub(r"^[ \t]*(?:#{1,6}|[-*+>]|\d+\.)[ \t]+", "", para, flags=re.M)
        para = " ".join(para.replace("```", " ").replace("**", "").split())
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9`(\"'])", para):
            s = s.strip()
            if 20 <= len(s) <= 400:
                out.append(s)
    return out


def topic_words(topic: str) -> tuple[str, ...]:
    """The topic's content words (lower case, 3+ characters, stop words dropped), in order."""
    words = [w for w in re.findall(r"[a-z0-9_]+", topic.lower()) if len(w) >= 3 and w not in _STOP]
    return tuple(dict.fromkeys(words))


@dataclass(frozen=True)
class ScoredSentence:
    position: int
    text: str
    score: int
    topic_hits: int
    keywords: tuple[str, ...]


def score_sentences(
    sentences: Sequence[str], topic: Sequence[str], fields: Iterable[str] = (), operators: Iterable[str] | None = None
) -> list[ScoredSentence]:
    """Sentences worth a reviewer's time: 3 points a topic word, 2 an operator or check name, 1 a field
    or BRAIN term; kept when they mention the topic or score at least 4. Deterministic."""
    if operators is None:
        from alphamine.expr.operators import default_operators

        operators = default_operators()
    ops, terms = frozenset(operators), BRAIN_TERMS | frozenset(fields)
    out = []
    for i, s in enumerate(sentences):
        low = s.lower()
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", s))
        lows = {w.lower() for w in words}
        t_hits = [w for w in topic if w in low]
        o_hits = sorted(w for w in words if w in ops and (w in terms or "_" in w or f"{w}(" in s)) + sorted(
            c for c in CHECK_NAMES if c in s)
        f_hits = sorted((lows & terms) - set(o_hits))
        score = 3 * len(t_hits) + 2 * len(o_hits) + len(f_hits)
        if t_hits or score >= 4:
            out.append(ScoredSentence(i, s, score, len(t_hits), tuple(dict.fromkeys([*t_hits, *o_hits, *f_hits]))))
    return out
