"""GENERATE's generator mix: which proposers fill an iteration's new candidates, in what shares.

Why a module: a run mixes deterministic generators (the template library and the field factory, drawn
through the theme sampler), the evolutionary generator (offspring of the store's best evidence) and,
when configured, the LLM generator. `--generators templates,factory,evolve:0.3[,llm]` names them; a
`name:share` fixes a share of `--candidates`, names without one split the rest equally. The
templates and factory are drawn together through the theme sampler (their shares add up); a generator
that returns fewer than its share (evolve has no parents in the first iteration, an LLM is paused)
leaves the rest to the sampler, so an iteration always proposes `--candidates` when it can.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from alphamine.generate import Candidate, GenerationContext
from alphamine.generate.candidate import Generator

GENERATORS = ("templates", "factory", "evolve", "llm")
SAMPLED = ("templates", "factory")  # drawn together through the theme sampler
DEFAULT_GENERATORS = "templates,factory"


def parse_generators(text: str) -> dict[str, float]:
    """`templates,factory,evolve:0.3` -> {name: share} (shares sum to 1). ValueError names the bad item."""
    named: dict[str, float | None] = {}
    for raw in (part.strip() for part in text.split(",")):
        if not raw:
            continue
        name, _, share = raw.partition(":")
        name = name.strip().lower()
        if name not in GENERATORS:
            raise ValueError(f"--generators: unknown generator {name!r} (choose from {', '.join(GENERATORS)})")
        if name in named:
            raise ValueError(f"--generators: {name} is listed twice")
        if share.strip():
            try:
                value = float(share)
            except ValueError:
                raise ValueError(f"--generators: the share of {name} must be a number, got {share!r}") from None
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"--generators: the share of {name} must be between 0 and 1, got {value}")
            named[name] = value
        else:
            named[name] = None
    if not named:
        raise ValueError("--generators: name at least one generator")
    fixed = sum(v for v in named.values() if v is not None)
    if fixed > 1.0 + 1e-9:
        raise ValueError(f"--generators: the shares add up to {fixed:.2f} > 1")
    free = [k for k, v in named.items() if v is None]
    rest = (1.0 - fixed) / len(free) if free else 0.0
    shares = {k: (rest if v is None else v) for k, v in named.items()}
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()} if total > 0 else {k: 1.0 / len(shares) for k in shares}


def propose(
    ctx: GenerationContext,
    n: int,
    shares: Mapping[str, float],
    sampler: Callable[[Sequence[str]], Generator],
    extra: Mapping[str, Generator],
) -> tuple[list[Candidate], dict[str, int]]:
    """`n` candidates from the mix: each generator in `extra` (evolve, llm) asked for its share, the
    sampled ones (`sampler(names)` builds the theme sampler over them) fill the rest. Returns the
    candidates and how many each generator contributed."""
    out: list[Candidate] = []
    counts: dict[str, int] = {}
    for name, gen in extra.items():
        want = round(n * shares.get(name, 0.0))
        got = gen.generate(ctx, want) if want > 0 else []
        counts[name] = len(got)
        out.extend(got[:want])
    sampled = [name for name in SAMPLED if name in shares]
    rest = n - len(out)
    if rest > 0:
        drawn = sampler(sampled or list(SAMPLED)).generate(ctx, rest)
        counts["sampler"] = len(drawn)
        out.extend(drawn)
    return out, counts
