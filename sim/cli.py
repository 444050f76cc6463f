"""The ``ucsim`` command line. It parses options, calls the library, and renders.

Exit codes: 0 success, 2 invalid input (file, field, value and rule named,
no traceback unless ``--debug``), 1 unexpected failure.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from sim.errors import InputError
from sim.loading import (
    default_scenario_paths,
    list_area_dirs,
    load_practices,
    read_toml,
    resolve,
)
from sim.replication import run_replication
from sim.tables import annual_table, flatten, provenance_lines

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="ucsim: discrete-event simulation of urgent care demand for NHS commissioners.",
)
F = TypeVar("F", bound=Callable[..., Any])


class _State:
    debug = False


def guarded(command: F) -> F:
    """Map input errors to exit 2 and anything unexpected to exit 1, without tracebacks."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        err = Console(stderr=True)
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            if _State.debug:
                raise
            err.print("[bold red]error:[/] invalid input", highlight=False)
            for problem in exc.problems:
                err.print(f"  {problem}", highlight=False, markup=False)
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if _State.debug:
                raise
            err.print(f"[bold red]unexpected failure:[/] {type(exc).__name__}: {exc}", markup=True)
            err.print("rerun with --debug for a traceback", style="dim")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    _State.debug = debug


ScenarioArgs = Annotated[
    list[Path] | None,
    typer.Argument(help="Scenario TOML files (default: the three shipped scenarios)."),
]
AreaOpt = Annotated[str | None, typer.Option("--area", help="Area folder under calibration/.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a parameter: dotted.path=value (repeatable)."),
]


@app.command()
@guarded
def run(
    scenarios: ScenarioArgs = None,
    area: AreaOpt = None,
    years: Annotated[int | None, typer.Option(help="Years to simulate after the warm-up.")] = None,
    replications: Annotated[int, typer.Option(min=1, help="Replications per scenario.")] = 1,
    seed: Annotated[int | None, typer.Option(min=0, help="Master seed.")] = None,
    overrides: SetOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing but errors.")] = False,
) -> None:
    """Simulate scenarios and print annual activity for each."""
    console = Console(quiet=quiet)
    extra = list(overrides or [])
    if years is not None:
        extra.append(f"run.years={years}")
    paths = list(scenarios or default_scenario_paths())
    resolved = [resolve(path, area=area, overrides=extra) for path in paths]
    for item in resolved:
        config = item.config
        for replication in range(replications):
            result = run_replication(config, replication, seed)
            title = (
                f"{config.area.display_name} · {config.scenario.name} · replication {replication}"
                f" · seed {result.seed} · {result.runtime_seconds:.1f} s"
            )
            console.print(annual_table(result.annual, title))


@app.command()
@guarded
def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario TOML files to check.")],
    area: AreaOpt = None,
    overrides: SetOpt = None,
    show: Annotated[bool, typer.Option(help="Print the resolved parameters.")] = True,
) -> None:
    """Check scenario files against an area and print the resolved configuration."""
    console = Console()
    for path in scenarios:
        item = resolve(path, area=area, overrides=list(overrides or []))
        config = item.config
        if show:
            tree = config.model_dump(mode="json", exclude={"practices"})
            for line in provenance_lines(flatten(tree), item.provenance):
                console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.print(
            f"[green]valid[/]: {path} -> scenario '{config.scenario.name}' on area "
            f"'{config.area.name}' ({len(config.practices)} practices, "
            f"{sum(p.list_size for p in config.practices):,} registered); sha256 {item.sha256[:12]}"
        )


@app.command()
@guarded
def areas() -> None:
    """List the shipped areas and their sources."""
    table = Table(title="Shipped areas", title_justify="left")
    for name in ("area", "name", "baseline", "practices", "registered", "localities", "sources"):
        table.add_column(name, overflow="fold")
    for folder in list_area_dirs():
        info = read_toml(folder / "area.toml").get("area", {})
        practices = load_practices(folder / info.get("practices_file", "practices.csv"))
        table.add_row(
            folder.name,
            str(info.get("display_name", "")),
            str(info.get("baseline_year", "")),
            str(len(practices)),
            f"{sum(p.list_size for p in practices):,}",
            str(len({p.locality for p in practices})),
            str(info.get("description", "")),
        )
    Console().print(table)


def entry() -> None:  # pragma: no cover - console script shim
    app(prog_name="ucsim")
    sys.exit(0)
