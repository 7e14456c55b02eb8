"""The full `alphamine` command tree (every command module imported): see `alphamine.cli.main`."""

from __future__ import annotations

import typer

from alphamine.cli.bench_cmd import bench
from alphamine.cli.brain_cmd import brain_app
from alphamine.cli.data_cmd import data_app
from alphamine.cli.demo_cmd import demo
from alphamine.cli.expression_args import ExpressionCommand
from alphamine.cli.import_cmd import parse_artifact
from alphamine.cli.knowledge_cmd import knowledge_app
from alphamine.cli.lab_cmd import lab_app
from alphamine.cli.lint_cmd import register_lint
from alphamine.cli.memory_cmd import memory_app
from alphamine.cli.numerai_cmd import numerai_app
from alphamine.cli.ops_cmd import ops_app
from alphamine.cli.plan_cmd import plan
from alphamine.cli.platform_cmd import submit, usage
from alphamine.cli.prompt_cmd import prompt_app
from alphamine.cli.records_cmd import candidates_app, doctor, settings_app
from alphamine.cli.research_cmd import research_app
from alphamine.cli.root import root_app
from alphamine.cli.run_cmd import gate, report, resume, run
from alphamine.cli.serve_cmd import serve
from alphamine.cli.simulate_cmd import simulate_command
from alphamine.cli.status_cmd import export, status
from alphamine.cli.tasks_cmd import retry_sim, tasks
from alphamine.cli.worker_cmd import optimize_candidates, worker

app = root_app()
app.add_typer(data_app, name="data")
app.add_typer(ops_app, name="ops")
register_lint(app)
app.command()(demo)
app.command("simulate", cls=ExpressionCommand)(simulate_command)
app.command()(bench)
app.command()(run)
app.command()(resume)
app.command()(status)
app.command()(report)
app.command()(export)
app.command()(gate)
app.command()(doctor)
app.command()(submit)
app.command()(usage)
app.command()(plan)
app.command("parse-artifact")(parse_artifact)
app.command()(worker)
app.command()(serve)
app.command("optimize-candidates")(optimize_candidates)
app.command()(tasks)
app.command("retry-sim")(retry_sim)
app.add_typer(candidates_app, name="candidates")
app.add_typer(settings_app, name="settings")
app.add_typer(brain_app, name="brain")
app.add_typer(research_app, name="research")
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(prompt_app, name="prompt")
app.add_typer(memory_app, name="memory")
app.add_typer(lab_app, name="lab")
app.add_typer(numerai_app, name="numerai")


@app.command()
def version() -> None:
    """Print the alphamine version."""
    from alphamine import __version__

    typer.echo(__version__)

