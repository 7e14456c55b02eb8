"""Experiment labs: a frozen-judge research loop, compatible with leanlab's lab folders (docs/labs.md).

A lab is a folder (task.md, lab.json, evaluation.py, validate.py, experiments/, results.jsonl, the
Critic's and Director's notes). A Worker writes one experiment file per iteration, the frozen judge
scores it, alphamine appends one leanlab-shaped record, and on their cadences the Critic and the
Director rewrite the notes the Worker reads next.

Modules, one concept each: `config` (lab.json), `process` (running commands), `state` (the state
file and locks), `ledger` (results.jsonl), `judge` (the frozen judge), `session` (freeze and adopt),
`prompts`, `workers` (the protocol and the scripted worker), `llm_agents`, `roles` (Critic and
Director), `noise`, `loop`, `check`, `scaffold` (templates), `chart` and `serve` (the dashboard).
Nothing is imported here, so `import alphamine.lab.<module>` stays cheap.
"""
