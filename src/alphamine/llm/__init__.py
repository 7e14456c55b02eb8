"""LLM research agents: one client for any OpenAI-compatible endpoint, budgets and kill switches,
versioned prompts, a knowledge base of approved lessons, and agents on the generators' seams.

Nothing here is needed by a run without an LLM: the default mining run stays offline and deterministic.
"""
