"""The ``ucsim`` command line. It parses options, calls the library, and renders.

Exit codes: 0 success, 2 invalid input (file, field, value and rule named,
no traceback unless ``--debug``), 1 unexpected failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import enum
import functools
import gc
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from sim.area_inputs import check_area_inputs
from sim.config import MAX_SEED, MAX_YEARS, ModelConfig
from sim.errors import InputError
from sim.loading import (
    DEFAULT_AREA,
    OPTION,
    area_dir,
    config_differences,
    default_scenario_paths,
    flatten,
    list_area_dirs,
    load_practices,
    project_root,
    provenance_lines,
    read_toml,
    resolve,
    results_root,
)
from sim.metrics import format_value

if TYPE_CHECKING:
    from sim.batch import BatchOutcome
    from sim.estimate import Estimate
    from sim.executors import Backend

# The simulation, pandas, the results folder, the tables, the report (matplotlib,
# python-docx, jinja2), calibration, sensitivity (SALib), sweep, warm-up and decomposition
# are imported by the commands that use them: `ucsim --help` and `ucsim validate` do not
# pay for them.


app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="ucsim: discrete-event simulation of urgent care demand for NHS commissioners.",
)
F = TypeVar("F", bound=Callable[..., Any])


def usable_cores() -> int:
    """Cores this process may use, not the host's: its CPU affinity and a container's CPU
    quota (cgroups), as the worker pool (loky) counts them."""
    from joblib import cpu_count  # imported when a command runs: `ucsim --help` stays quick

    return max(1, cpu_count())


def _workers(jobs: int | None) -> int:
    return usable_cores() if jobs is None else jobs


class BackendChoice(str, enum.Enum):
    sequential = "sequential"
    loky = "loky"
    dask = "dask"


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
                err.print(f"  {problem}", highlight=False, markup=False, emoji=False)
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if _State.debug:
                raise
            err.print("[bold red]unexpected failure:[/] ", end="")
            err.print(f"{type(exc).__name__}: {exc}", markup=False, emoji=False, highlight=False)
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
AreaOpt = Annotated[
    str | None,
    typer.Option(
        "--area", metavar="AREA", help=f"Area folder under calibration/ (default: {DEFAULT_AREA})."
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        min=0, max=MAX_SEED, metavar="N", help="Master seed (default: the scenario's run.seed)."
    ),
]
JobsOpt = Annotated[
    int | None,
    typer.Option(
        min=1, metavar="N", help="Parallel workers (default: the cores this process may use)."
    ),
]
BackendOpt = Annotated[BackendChoice, typer.Option(help="Where replications run.")]
SchedulerOpt = Annotated[
    str | None, typer.Option(help="Dask scheduler address (with --backend dask).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="PATH=VALUE", help="Override a parameter: dotted.path=value (repeatable)."
    ),
]


def _replication_count(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise InputError.single(OPTION, "--replications", text, "a whole number >= 1, or auto")
    return count


def _demonstrator_control(
    configs: list[ModelConfig], area: str | None, overrides: list[str]
) -> ModelConfig | None:
    """Do nothing on the demonstrator's area and years, when the run has a demonstrator
    but nothing to judge it against."""
    from sim.batch import REFERENCE_SCENARIO

    pilots = [c for c in configs if c.scenario.demonstrator is not None]
    if not pilots or any(c.scenario.name == REFERENCE_SCENARIO for c in configs):
        return None
    pilot = pilots[0]
    settings = [f"run.years={pilot.run.years}", f"run.warmup_days={pilot.run.warmup_days}"]
    path = project_root() / "scenarios" / f"{REFERENCE_SCENARIO}.toml"
    return resolve(path, area=area or pilot.scenario.area, overrides=[*overrides, *settings]).config


def _scenario_path(path: Path) -> Path:
    """The scenario file, or an error naming the shipped ones (and the likely one)."""
    if path.exists():
        return path
    shipped = sorted(p.name for p in (project_root() / "scenarios").glob("*.toml"))
    guess = project_root() / "scenarios" / (path.stem + ".toml")
    rule = "file not found"
    if guess.exists():
        rule += f"; did you mean scenarios/{guess.name}?"
    else:
        close = [n for n in shipped if n.startswith(path.stem)] or difflib.get_close_matches(
            path.stem + ".toml", shipped, n=1
        )
        if close:
            rule += f"; did you mean scenarios/{close[0]}?"
    rule += f" Shipped scenarios: {', '.join(shipped)}"
    raise InputError.single(OPTION, "scenario", str(path), rule)


def _default_out(area: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return results_root() / f"{area}-{stamp}"


@app.command()
@guarded
def run(
    scenarios: ScenarioArgs = None,
    area: AreaOpt = None,
    years: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_YEARS,
            metavar="N",
            help="Years to simulate after the warm-up (default: the area's run.years).",
        ),
    ] = None,
    replications: Annotated[
        str,
        typer.Option(
            metavar="N|auto",
            help="Replications per scenario: a number, or auto (Hoad et al. 2010).",
        ),
    ] = "auto",
    seed: SeedOpt = None,
    jobs: JobsOpt = None,
    backend: Annotated[
        BackendChoice, typer.Option(help="Where replications run.")
    ] = BackendChoice.loky,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (with --backend dask).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Results folder (default results/AREA-TIME).")
    ] = None,
    overrides: SetOpt = None,
    resume: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Finish the interrupted run in this results folder."),
    ] = None,
    precision: Annotated[
        float, typer.Option(min=0.001, max=0.5, help="With auto: target half-width / mean.")
    ] = 0.05,
    max_replications: Annotated[int, typer.Option(min=2, help="With auto: the cap.")] = 50,
    quiet: Annotated[
        bool, typer.Option("--quiet", metavar="", help="Print nothing but errors.")
    ] = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", metavar="", help="Skip report.html and board_paper.docx.")
    ] = False,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide", metavar="", help="Print every metric and target (needs a wide terminal)."
        ),
    ] = False,
    trace: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=10_000,
            metavar="N",
            help="Also follow N patients step by step (trace.csv: replication 0, every scenario).",
        ),
    ] = None,
) -> None:
    """Simulate scenarios x replications and write a complete results folder and report."""
    import sim.api as api
    from sim.batch import checked_configs
    from sim.store import ResultsFolder

    console = Console(quiet=quiet)
    if resume is None:  # every input checked before anything starts
        extra = list(overrides or [])
        if years is not None:
            extra.append(f"run.years={years}")
        paths = [_scenario_path(p) for p in scenarios or default_scenario_paths()]
        configs = [resolve(p, area=area, overrides=extra).config for p in paths]
        control = _demonstrator_control(configs, area, extra)
        if control is not None:
            configs.insert(0, control)
            console.print(
                f"note: added {control.scenario.name} on the same area and years: a "
                "demonstrator is judged against doing nothing"
            )
        target = out or _default_out(configs[0].area.name)
    elif conflicting := [
        name
        for name, given in (
            ("scenario files", bool(scenarios)),
            ("--area", area is not None),
            ("--years", years is not None),
            ("--replications", replications != "auto"),
            ("--seed", seed is not None),
            ("--set", bool(overrides)),
            ("--out", out is not None),
            ("--trace", trace is not None),
        )
        if given
    ]:
        raise InputError.single(
            OPTION,
            "--resume",
            str(resume),
            f"finishes the run as recorded in its manifest; {', '.join(conflicting)} would "
            "change it: leave them out, or start a new run in a new --out folder",
        )
    elif (done := ResultsFolder(resume).read_manifest()).get("status") == "complete":
        checked_configs(ResultsFolder(resume), done)  # an edited config is still refused
        if api.finish_report(ResultsFolder(resume)):  # stopped while writing the report
            console.print(f"report finished: {resume}")
            _print_files(console, resume)
            return
        reps = done["replications"]["used"]
        console.print(
            f"nothing to do: {resume} is complete ({reps} replications per scenario); "
            "its files are left as they are (ucsim report rebuilds the report)"
        )
        return
    with _progress(quiet) as on_progress, _terminate_as_interrupt():
        try:
            shown = functools.partial(_print_outcome, console, wide=wide)
            if resume is not None:
                outcome = api.resume(
                    resume,
                    _workers(jobs),
                    _backend(backend),
                    scheduler,
                    on_progress,
                    on_batch_done=shown,
                    on_estimate=_estimate_printer(quiet),
                )
            else:
                outcome = api.run_many(
                    configs,
                    target,
                    _replication_count(replications),
                    seed,
                    _workers(jobs),
                    _backend(backend),
                    scheduler=scheduler,
                    precision=precision,
                    max_replications=max_replications,
                    report=not no_report,
                    trace=trace,
                    on_progress=on_progress,
                    on_batch_done=shown,
                    on_estimate=_estimate_printer(quiet),
                )
        except KeyboardInterrupt:
            folder = resume or out
            Console(stderr=True).print(
                "[yellow]interrupted[/]: finished replications are saved; finish with "
                f"ucsim run --resume {folder if folder else 'RESULTS_DIR'}"
            )
            raise typer.Exit(130) from None
    _print_files(console, outcome.folder.root)


def _print_outcome(console: Console, outcome: BatchOutcome, wide: bool = False) -> None:
    """The run's results for a terminal: a compact view that reads at 80 columns, or with
    ``wide`` every metric per scenario and the full targets table."""
    import pandas as pd

    from sim.demonstrator import DEMONSTRATOR_FILE
    from sim.demonstrator import statement as demonstrator_statement
    from sim.tables import (
        annual_table,
        compact_differences_table,
        differences_table,
        finance_table,
        key_figures_table,
        targets_overview_table,
        targets_table,
    )

    manifest = outcome.manifest
    reps = manifest["replications"]
    reference = manifest["reference_scenario"]
    names = list(manifest["scenarios"])
    others = [n for n in names if n != reference]
    if reps["used"] == 1 and len(names) == 1 and wide:
        annual = outcome.kpis.pivot_table(
            index=["year", "financial_year"], columns="metric", values="value"
        ).reset_index()
        console.print(
            annual_table(annual, f"{manifest['area_name']} · {names[0]} · seed {manifest['seed']}")
        )
    elif wide:
        for name in names:
            means = outcome.summary[outcome.summary["scenario"] == name].pivot_table(
                index=["year", "financial_year"], columns="metric", values="mean"
            )
            title = f"{manifest['area_name']} · {name} · mean of {reps['used']} replications"
            console.print(annual_table(means.reset_index(), title))
    else:
        console.print(key_figures_table(outcome.summary, reference, names))
    if not outcome.differences.empty:
        console.print(
            differences_table(outcome.differences)
            if wide
            else compact_differences_table(outcome.differences)
        )
    if not outcome.targets.empty:
        if wide:
            console.print(targets_table(outcome.targets))
        else:
            table, rest = targets_overview_table(outcome.targets, names)
            if table.row_count:
                console.print(table)
            if rest:
                console.print(f"targets: {rest}")
    demonstrator_csv = outcome.folder.root / DEMONSTRATOR_FILE
    if demonstrator_csv.exists():
        for _, row in pd.read_csv(demonstrator_csv).iterrows():
            console.print(f"[bold]demonstrator[/] {row['scenario']}: {demonstrator_statement(row)}")
    finance_csv = outcome.folder.root / "finance.csv"
    if finance_csv.exists() and others:
        console.print(finance_table(pd.read_csv(finance_csv), reference))
    if reference != "do-nothing":
        console.print(
            f"[yellow]note[/]: no do-nothing scenario in this run: differences and income at "
            f"risk are against {reference}; targets set against doing nothing are not evaluated."
        )
    console.print(f"replications: {reps['used']} per scenario ({reps['reason']})")
    console.print(f"wall time: {manifest.get('wall_seconds', 0):.1f} s")


def _estimate_printer(quiet: bool) -> Callable[[Estimate], None]:
    """Say the plan and its expected time once the first wave is done (stderr, like the
    progress), so a long command can be stopped before the time is spent."""
    err = Console(stderr=True, quiet=quiet)

    def say(estimate: Estimate) -> None:
        err.print(estimate.statement(), markup=False, highlight=False)

    return say


def _backend(choice: BackendChoice, scheduler: str | None = None) -> Backend:
    """The backend chosen; a scheduler address is refused without Dask (it would be ignored)."""
    if scheduler is not None and choice != BackendChoice.dask:
        raise InputError.single(OPTION, "--scheduler", scheduler, "only used with --backend dask")
    return cast("Backend", choice.value)


def _print_files(console: Console, root: Path) -> None:
    """The last lines of a run: the folder and every file a reader opens."""
    console.print(f"[green]results written to[/] {root}")
    readable = [
        name
        for name in (
            "report.html",
            "board_paper.docx",
            "income_at_risk.xlsx",
            "summary.csv",
            "differences.csv",
            "targets.csv",
            "demonstrator.csv",
            "finance.csv",
            "finance_decomposition.csv",
            "reconciliation.csv",
            "net_position.csv",
            "trace.csv",
        )
        if (root / name).exists()
    ]
    for name in readable:
        console.print(f"  {root / name}")


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so the manifest records the interruption."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


PLAIN_PROGRESS_SECONDS = 30.0  # a log file gets a progress line at least this often


@contextlib.contextmanager
def _plain_progress(
    interval: float = PLAIN_PROGRESS_SECONDS,
) -> Iterator[Callable[[int, int, str], None]]:
    """Progress for a log file (no terminal): a line now and then, however slow the work."""
    state = {"done": 0, "total": 0, "what": "starting"}
    started = time.monotonic()
    stop = threading.Event()

    def line() -> None:
        total = state["total"] or "?"
        elapsed = time.monotonic() - started
        print(
            f"[{dt.datetime.now():%H:%M:%S}] {state['what']}: {state['done']}/{total} "
            f"done, {elapsed:.0f} s elapsed",
            file=sys.stderr,
            flush=True,
        )

    def heartbeat() -> None:
        while not stop.wait(interval):
            line()

    thread = threading.Thread(target=heartbeat, daemon=True)
    thread.start()

    def update(done: int, total: int, what: str) -> None:
        first = state["done"] == 0 and done > 0
        state.update(done=done, total=total, what=what)
        if first or (total and done == total):
            line()

    try:
        yield update
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int, int, str], None] | None]:
    if quiet:
        yield None
        return
    if not sys.stderr.isatty():
        with _plain_progress() as plain:
            yield plain
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task("replications", total=None)

        def update(done: int, total: int, what: str) -> None:
            progress.update(task, completed=done, total=total, description=what)

        yield update


@app.command()
@guarded
def sweep(
    scenario: Annotated[Path, typer.Argument(help="The scenario to vary.")],
    vary: Annotated[
        list[str],
        typer.Option("--vary", help="path=start:stop:step or path=a,b,c (repeatable: a grid)."),
    ],
    area: AreaOpt = None,
    replications: Annotated[int, typer.Option(min=1, help="Replications per grid point.")] = 5,
    seed: SeedOpt = None,
    jobs: JobsOpt = None,
    backend: Annotated[
        BackendChoice, typer.Option(help="Where replications run.")
    ] = BackendChoice.loky,
    scheduler: SchedulerOpt = None,
    out: Annotated[Path | None, typer.Option(help="Results folder.")] = None,
    overrides: SetOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", metavar="")] = False,
) -> None:
    """Run a grid of parameter values with replications; write sweep.csv and sweep.png."""
    import sim.api as api
    from sim.sweep import flat_sweep_notes, parse_variation

    base = resolve(_scenario_path(scenario), area=area, overrides=list(overrides or [])).config
    variations = [parse_variation(text) for text in vary]
    folder = out or _default_out(f"sweep-{base.area.name}")
    with _progress(quiet) as on_progress, _terminate_as_interrupt():
        outcome, table = api.sweep(
            base,
            vary,
            folder,
            replications,
            seed,
            _workers(jobs),
            _backend(backend),
            on_progress,
            scheduler=scheduler,
            on_estimate=_estimate_printer(quiet),
        )
    console = Console(quiet=quiet)
    last = table[
        (table["year"] == table["year"].max()) & (table["metric"] == "emergency_admissions")
    ]
    result = Table(
        title=f"Emergency admissions, {last['financial_year'].iloc[0]}", title_justify="left"
    )
    for name in (*[v.path for v in variations], "mean", "95% interval"):
        result.add_column(name)
    for row in last.to_dict("records"):
        values = [str(row[v.path]) for v in variations]
        interval = f"{row['ci_low']:,.0f} to {row['ci_high']:,.0f}"
        result.add_row(*values, f"{row['mean']:,.0f}", interval)
    console.print(result)
    for note in flat_sweep_notes(table, variations):
        console.print(f"[yellow]note[/]: {note}")
    console.print(f"[green]written to[/] {outcome.folder.root} (sweep.csv, sweep.png)")


class Method(str, enum.Enum):
    oneway = "oneway"
    morris = "morris"


@app.command()
@guarded
def sensitivity(
    scenario: Annotated[Path, typer.Argument(help="The scenario to analyse.")],
    reference: Annotated[
        Path | None, typer.Option(help="Do-nothing scenario for income at risk.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="path=low:high (repeatable; default: the documented set)."),
    ] = None,
    method: Annotated[
        Method, typer.Option(help="oneway (tornado) or morris (SALib).")
    ] = Method.oneway,
    area: AreaOpt = None,
    replications: Annotated[
        int, typer.Option(min=1, help="Replications per variant (paired on common random numbers).")
    ] = 2,
    trajectories: Annotated[int, typer.Option(min=2, help="Morris trajectories.")] = 6,
    seed: SeedOpt = None,
    jobs: JobsOpt = None,
    backend: BackendOpt = BackendChoice.loky,
    scheduler: SchedulerOpt = None,
    out: Annotated[Path | None, typer.Option(help="Results folder.")] = None,
    overrides: SetOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", metavar="")] = False,
) -> None:
    """Rank the parameters that move emergency admissions and income at risk most."""
    import sim.api as api

    extra = list(overrides or [])
    config = resolve(_scenario_path(scenario), area=area, overrides=extra).config
    ref = resolve(reference or default_scenario_paths()[0], area=area, overrides=extra).config
    folder = out or _default_out(f"sensitivity-{config.area.name}")
    console = Console(quiet=quiet)
    started = time.perf_counter()
    with _progress(quiet) as on_progress, _terminate_as_interrupt():
        table = api.sensitivity(
            config,
            ref,
            folder,
            method.value,
            param,
            replications,
            trajectories,
            seed,
            _workers(jobs),
            on_progress,
            backend=_backend(backend),
            scheduler=scheduler,
            on_estimate=_estimate_printer(quiet),
        )
    score = "swing" if method == Method.oneway else "mu_star"
    ranges = len(dict.fromkeys(table["parameter"]))
    elapsed = time.perf_counter() - started
    for output in dict.fromkeys(table["output"]):
        ranked = Table(title=f"{output}: parameters ranked by {score}", title_justify="left")
        for name in ("rank", "parameter", score):
            ranked.add_column(name)
        for row in table[table["output"] == output].head(10).to_dict("records"):
            ranked.add_row(str(row["rank"]), row["parameter"], f"{row[score]:,.0f}")
        console.print(ranked)
    console.print(f"{method.value} analysis of {ranges} parameters took {elapsed:.0f} s")
    console.print(f"[green]written to[/] {folder}")


@app.command()
@guarded
def calibrate(
    area: Annotated[str, typer.Option("--area", help="Area folder under calibration/.")] = "dudley",
    replications: Annotated[
        int, typer.Option(min=1, help="Replications per iteration (a multiple of --jobs).")
    ] = 4,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Seed (common random numbers).")
    ] = 1,
    jobs: JobsOpt = None,
    backend: BackendOpt = BackendChoice.loky,
    scheduler: SchedulerOpt = None,
    identifiability: Annotated[
        bool, typer.Option(help="Refit from another starting point and compare.")
    ] = True,
) -> None:
    """Fit the area's baseline year to calibration/AREA/baseline.toml; write fitted.toml."""
    import sim.api as api
    from sim.calibration import MAX_ITERATIONS, TOLERANCE, FitIteration
    from sim.estimate import duration

    progress = Console(stderr=True)
    started = time.perf_counter()

    def show(label: str, step: FitIteration) -> None:
        worst = max(step.relative_errors.items(), key=lambda item: abs(item[1]))
        elapsed = time.perf_counter() - started
        progress.print(
            f"{label} iteration {step.iteration + 1}: worst error {worst[1]:+.1%} "
            f"({worst[0]}), {elapsed:.0f} s"
        )
        if label == "fit" and step.iteration == 0:  # the first wave: say what is planned
            again = ", and as long again for the identifiability refit" if identifiability else ""
            progress.print(
                f"planned: up to {MAX_ITERATIONS} iterations of {replications} replications "
                f"on {_workers(jobs)} workers, stopping once every fitted figure is within "
                f"{TOLERANCE:.0%}; the first took {duration(elapsed)}: up to "
                f"{duration(elapsed * (MAX_ITERATIONS - 1))} more{again}",
                highlight=False,
            )

    done = api.calibrate(
        area,
        replications,
        seed,
        _workers(jobs),
        _backend(backend, scheduler),
        scheduler,
        identifiability,
        show,
    )
    result, report, ident, changed, folder = (
        done.fit,
        done.report,
        done.identifiability,
        done.written,
        done.folder,
    )
    base = result.config
    console = Console()
    table = Table(title=f"{base.area.display_name}: baseline fit", title_justify="left")
    for name in ("metric", "target", "simulated (95% CI)", "error", "fitted"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for row in report.to_dict("records"):
        table.add_row(
            row["metric"],
            format_value(row["metric"], row["target"]),
            f"{format_value(row['metric'], row['simulated_mean'])} "
            f"({format_value(row['metric'], row['ci_low'])} to "
            f"{format_value(row['metric'], row['ci_high'])})",
            f"{100 * row['relative_error']:+.1f}%",
            "yes" if row["fitted"] else "held out",
        )
    console.print(table)
    if ident is not None:
        worst = float(ident["relative_difference"].abs().max())
        console.print(f"identifiability: refit from another start differs by at most {worst:.1%}")
    console.print(
        f"{'converged' if result.converged else 'NOT converged'} in {len(result.history)} "
        f"iterations, {time.perf_counter() - started:.0f} s; "
        + (
            "written " + ", ".join(p.name for p in changed) + f" in {folder}"
            if changed
            else f"the fit is unchanged: {folder} left as it was"
        )
    )


@app.command()
@guarded
def report(
    results: Annotated[Path, typer.Argument(help="A results folder written by ucsim run.")],
    format: Annotated[
        str, typer.Option("--format", help="Comma-separated: html, docx, xlsx.")
    ] = "html,docx,xlsx",
) -> None:
    """Write report.html, board_paper.docx (and the finance workbook) for a finished run.

    Finance is read as the folder holds it, never recomputed with other inputs: the
    workbook is written only where the run's own pricing has none yet."""
    import sim.api as api

    written = api.report(results, tuple(f.strip() for f in format.split(",") if f.strip()))
    Console().print("[green]written:[/] " + ", ".join(str(p) for p in written))


@app.command()
@guarded
def decompose(
    results: Annotated[Path, typer.Argument(help="A results folder written by ucsim run.")],
    jobs: JobsOpt = None,
    backend: Annotated[
        BackendChoice, typer.Option(help="Where replications run.")
    ] = BackendChoice.loky,
    scheduler: SchedulerOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", metavar="", help="Print nothing but errors.")
    ] = False,
) -> None:
    """Each lever's contribution: re-run every scenario with one lever off at a time (same
    seed and replications), write decomposition.csv and refresh the report."""
    import sim.api as api
    from sim.tables import contribution_table

    with _progress(quiet) as on_progress:
        table = api.decompose(
            results,
            _workers(jobs),
            _backend(backend, scheduler),
            None if on_progress is None else lambda d, t: on_progress(d, t, "lever re-runs"),
            scheduler,
        )
    written = [results / "report.html", results / "board_paper.docx"]
    if not quiet:
        console = Console()
        console.print(contribution_table(table))
        console.print("[green]written:[/] " + ", ".join(str(p) for p in written))


@app.command()
@guarded
def finance(
    results: Annotated[Path, typer.Argument(help="A results folder written by ucsim run.")],
    tariffs: Annotated[
        Path | None, typer.Option(help="Another tariffs file (default: the run's tariffs.toml).")
    ] = None,
    providers: Annotated[
        Path | None, typer.Option(help="Another providers file (default: the run's copy).")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override a tariff or rule, e.g. non_elective.marginal_rate.enabled=false"
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Name of the new pricing, written to finance/NAME/ (default: pricing-N).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", metavar="", help="Replace a pricing of the same name.")
    ] = False,
) -> None:
    """Reprice an existing run (no re-simulation) as a new, named pricing in finance/NAME/.

    The run's own pricing at the folder's root is never changed; the report lists
    every pricing in the folder."""
    import sim.api as api
    from sim.store import ResultsFolder
    from sim.tables import discrepancy_table, finance_table

    priced = api.finance(results, overrides or [], name, providers, tariffs, force)
    tables, pricing_name, directory, files = (
        priced.tables,
        priced.name,
        priced.folder,
        priced.files,
    )
    manifest = ResultsFolder(results).read_manifest()
    written = priced.report
    console = Console()
    console.print(finance_table(tables.finance, manifest["reference_scenario"]))
    if not tables.discrepancies.empty:
        console.print(discrepancy_table(tables.discrepancies))
    console.print(f"[green]pricing '{pricing_name}' written to[/] {directory}")
    console.print("[green]written:[/] " + ", ".join(str(p) for p in [*files, *written]))


@app.command()
@guarded
def warmup(
    scenarios: ScenarioArgs = None,
    area: AreaOpt = None,
    days: Annotated[int, typer.Option(min=20, help="Days to simulate from empty.")] = 365,
    replications: Annotated[int, typer.Option(min=1, help="Replications per scenario.")] = 5,
    seed: SeedOpt = None,
    jobs: JobsOpt = None,
    backend: BackendOpt = BackendChoice.loky,
    scheduler: SchedulerOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for warmup.png and CSVs (default: a new results/warmup-AREA-TIME)."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", metavar="", help="Write into an --out folder that already has results."
        ),
    ] = False,
    overrides: SetOpt = None,
) -> None:
    """Plot bed occupancy, A&E queue and onward care from empty; suggest a warm-up (MSER-5)."""
    import sim.api as api

    paths = list(scenarios or default_scenario_paths())
    configs = [
        resolve(_scenario_path(p), area=area, overrides=list(overrides or [])).config for p in paths
    ]
    if out is not None and (out / "warmup_series.csv").exists() and not force:
        raise InputError.single(
            OPTION, "--out", str(out), "already holds a warm-up analysis: add --force to replace it"
        )
    folder = out or _default_out(f"warmup-{configs[0].area.name}")
    with _progress(False) as on_progress:
        analysis = api.warmup(
            configs,
            folder,
            days,
            replications,
            seed,
            _workers(jobs),
            _backend(backend, scheduler),
            scheduler,
            None if on_progress is None else lambda d, t: on_progress(d, t, "replications"),
        )
    console = Console()
    table = Table(title="MSER-5 truncation (days) by scenario and series", title_justify="left")
    for name in ("scenario", "series", "truncation days"):
        table.add_column(name)
    for row in analysis.truncation.itertuples():
        table.add_row(row.scenario, row.series, str(row.truncation_days))
    console.print(table)
    current = configs[0].run.warmup_days
    advice = "; consider raising it" if current < analysis.suggested_days else ""
    console.print(
        f"suggested warm-up: [bold]{analysis.suggested_days} days[/] "
        f"(configured: {current} days{advice})"
    )
    console.print(f"[green]written to[/] {folder}")


@app.command(name="app")
@guarded
def web_app(
    host: Annotated[
        str, typer.Option(help="Address to listen on (localhost only unless you mean it).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one).")] = 0,
    store: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Where finished runs are kept (default results/app)."),
    ] = None,
    jobs: JobsOpt = None,
) -> None:
    """A planner's web page: change levers, run trials and batches, see targets and money."""
    import socket

    import uvicorn

    from sim.app import create_app

    err = Console(stderr=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            f"[yellow]warning[/]: listening on {host}: anyone who can reach this machine can "
            "run simulations here; put it behind a reverse proxy with authentication"
        )
    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    web = create_app(store or results_root() / "app", _workers(jobs))
    Console().print(f"ucsim app: http://{host}:{port}/  (Ctrl-C stops it)", highlight=False)
    uvicorn.run(web, host=host, port=port, log_level="warning")


@app.command()
@guarded
def goal(
    area: AreaOpt = None,
    reference: Annotated[
        Path, typer.Option(metavar="FILE", help="The scenario every lever starts from.")
    ] = Path("scenarios/do-nothing.toml"),
    ambition: Annotated[
        Path,
        typer.Option(metavar="FILE", help="The scenario whose lever values are 'full'."),
    ] = Path("scenarios/best-case.toml"),
    targets: Annotated[
        list[str] | None,
        typer.Option("--target", metavar="ID", help="A target to meet (repeatable; default: all)."),
    ] = None,
    levers: Annotated[
        list[str] | None,
        typer.Option(
            "--lever", metavar="NAME", help="A lever to search (repeatable; default: all)."
        ),
    ] = None,
    probability: Annotated[
        float, typer.Option(min=0.05, max=0.99, help="Required p_met for every target.")
    ] = 0.8,
    levels: Annotated[
        int, typer.Option(min=2, max=11, help="Levels per lever, off to full (3: 0, 50%, 100%).")
    ] = 3,
    budget_replications: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Stop the search after N replications.")
    ] = None,
    max_time: Annotated[
        float | None, typer.Option(min=0.1, metavar="MINUTES", help="Stop the search after this.")
    ] = None,
    quick: Annotated[
        bool,
        typer.Option("--quick", metavar="", help="Two levels (off, full) and fewer replications."),
    ] = False,
    seed: SeedOpt = None,
    jobs: JobsOpt = None,
    backend: Annotated[
        BackendChoice, typer.Option(help="Where replications run.")
    ] = BackendChoice.loky,
    scheduler: SchedulerOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Goal folder (default results/goal-AREA-TIME)."),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Finish an interrupted goal search.")
    ] = None,
    overrides: SetOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", metavar="")] = False,
) -> None:
    """What would it take? The cheapest mix of levers that meets the targets with a stated
    probability, searched on common random numbers; writes the chosen scenario, the
    cost-probability frontier and goal.html."""
    import sim.api as api
    from sim.goal import GoalSettings

    console = Console(quiet=quiet)
    if resume is not None:
        given = [n for n, g in (("--area", area), ("--set", overrides), ("--out", out)) if g]
        if given:
            raise InputError.single(
                OPTION,
                "--resume",
                str(resume),
                f"uses the recorded request; leave out {', '.join(given)}",
            )
        request = api.goal_request(resume)
        settings = GoalSettings.recorded(
            request["settings"], _workers(jobs), _backend(backend, scheduler), scheduler
        )
        reference_file, ambition_file = (
            Path(request["reference_file"]),
            Path(request["ambition_file"]),
        )
        area, extra, folder = request["area"], list(request["overrides"]), resume
    else:
        count = 2 if quick else levels
        settings = GoalSettings(
            required=probability,
            fractions=tuple(i / (count - 1) for i in range(count)),
            first=3 if quick else 5,
            step=3 if quick else 5,
            most=9 if quick else 20,
            confirm=10 if quick else 20,
            seed=seed,
            budget_replications=budget_replications,
            max_seconds=None if max_time is None else max_time * 60,
            jobs=_workers(jobs),
            backend=_backend(backend, scheduler),
            scheduler=scheduler,
            targets=tuple(targets or ()),
            levers=tuple(levers or ()),
        )
        reference_file, ambition_file = _scenario_path(reference), _scenario_path(ambition)
        extra = list(overrides or [])
        folder = out or _default_out(f"goal-{area or 'dudley'}")
    err = Console(stderr=True, quiet=quiet)
    outcome = api.goal(
        reference_file,
        ambition_file,
        folder,
        area=area,
        overrides=extra,
        settings=settings,
        on_progress=lambda line: err.print(line, markup=False, highlight=False),
    )
    from sim.goal_report import statements

    for line in statements(outcome):
        console.print(line, markup=False, highlight=False)
    console.print(f"written to {folder}: goal.html, frontier.png, candidates.csv", highlight=False)


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
        for shadowed_path, (value, winner) in item.shadowed.items():
            console.print(
                f"note: {shadowed_path}: area.toml's {value!r} is not used; "
                f"{Path(winner).name} sets it (area.toml's value is still checked)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        area_files = check_area_inputs(area_dir(config.area.name))
        console.print(
            f"[green]valid[/]: {path} -> scenario '{config.scenario.name}' on area "
            f"'{config.area.name}' ({len(config.practices)} practices, "
            f"{sum(p.list_size for p in config.practices):,} registered); sha256 {item.sha256[:12]}"
        )
        if area_files.checked:
            console.print(f"[green]valid[/]: {', '.join(area_files.checked)}", highlight=False)


@app.command()
@guarded
def diff(
    first: Annotated[Path, typer.Argument(help="A scenario file.")],
    second: Annotated[Path, typer.Argument(help="Another scenario file.")],
    area: AreaOpt = None,
    overrides: SetOpt = None,
) -> None:
    """Show the parameters in which two resolved scenarios differ."""
    extra = list(overrides or [])
    a = resolve(_scenario_path(first), area=area, overrides=extra)
    b = resolve(_scenario_path(second), area=area, overrides=extra)
    rows = config_differences(a.config, b.config)
    table = Table(
        title=f"{a.config.scenario.name} vs {b.config.scenario.name}", title_justify="left"
    )
    for name in ("parameter", a.config.scenario.name, b.config.scenario.name):
        table.add_column(name, overflow="fold")
    for path, left, right in rows:
        table.add_row(path, _shown(left), _shown(right))
    console = Console()
    console.print(table)
    console.print(f"{len(rows)} parameters differ")


def _shown(value: object) -> str:
    return "(unset)" if value is None else str(value)


@app.command()
@guarded
def areas() -> None:
    """List the shipped areas and their sources (one block per area: reads at 80 columns)."""
    from sim.calibration import fit_status

    console = Console()
    for folder in list_area_dirs():
        info = read_toml(folder / "area.toml").get("area", {})
        practices = load_practices(folder / info.get("practices_file", "practices.csv"))
        finance = all((folder / f).exists() for f in ("providers.toml", "tariffs.toml"))
        table = Table(
            title=f"{folder.name}: {info.get('display_name', '')}",
            title_justify="left",
            show_header=False,
        )
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        for field, value in (
            ("baseline year", str(info.get("baseline_year", ""))),
            ("practices", str(len(practices))),
            ("registered", f"{sum(p.list_size for p in practices):,}"),
            ("localities", str(len({p.locality for p in practices}))),
            ("calibration", fit_status(folder)),
            ("finance", "providers and tariffs" if finance else "none (no income at risk)"),
            ("sources", str(info.get("description", ""))),
        ):
            table.add_row(field, value)
        console.print(table)


def entry_point() -> None:
    """The `ucsim` program: the command line, then a quick exit.

    At exit the interpreter's collector would walk every object the run left (the
    analysis libraries, the tables): 0.2-0.4 s spent on memory the process is about to
    give back. Freezing them first skips that walk; nothing is lost, the process ends.
    """
    try:
        app(prog_name="ucsim")
    finally:
        gc.freeze()
