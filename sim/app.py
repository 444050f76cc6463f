"""``ucsim app``: a planner's web page over the Python API (Shiny for Python).

Pick an area and scenarios, see and change every lever of a scenario (value, unit,
source, evidence bound), run a short trial and then the full batch as a job (its own
process: :mod:`sim.jobs`) with progress and a cancel button, and read the targets,
trajectories and money; every run of the session is listed side by side, and its
results, workbook, report and edited scenario can be downloaded. Nothing a browser
sends becomes a path, a shell command or code: areas and scenarios are chosen by name,
an uploaded scenario is size-limited and validated exactly as the CLI validates.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w
from shiny import App, reactive, render, ui

from sim.api import modify
from sim.config import Interventions, ModelConfig
from sim.errors import InputError
from sim.goal import GoalSettings, evidence_bounds
from sim.jobs import GoalJobRequest, Job, JobManager, JobRequest, JobStore, request_for
from sim.loading import default_scenario_paths, list_area_dirs, resolve
from sim.store import whole_area

TRIAL_REPLICATIONS = 2
TRIAL_YEARS = 2  # reaches the first target years (2015/16) of the shipped areas
UPLOAD_LIMIT_BYTES = 64 * 1024
MAX_APP_REPLICATIONS = 200  # a shared server's full run; the CLI allows more
HEADLINE = ("emergency_admissions", "ae_attendances", "bed_days")


@dataclass(frozen=True)
class LeverField:
    """One lever setting shown in the page: where it lives, its kind, range and notes."""

    path: str
    kind: str  # "flag" or "number"
    value: Any
    low: float | None
    high: float | None
    integer: bool
    unit: str
    source: str
    bound: float | None

    @property
    def input_id(self) -> str:
        return "lv_" + self.path.replace(".", "__")


def _limits(field: Any) -> tuple[float | None, float | None]:
    low = high = None
    for item in getattr(field, "metadata", []):
        low = getattr(item, "ge", getattr(item, "gt", low))
        high = getattr(item, "le", getattr(item, "lt", high))
    return low, high


def lever_fields(scenario_path: Path, area: str) -> list[LeverField]:
    """Every intervention setting a planner may change (flags and numbers), with provenance."""
    resolved = resolve(scenario_path, area=area)
    bounds = evidence_bounds()
    fields = []
    for lever_name, lever_field in Interventions.model_fields.items():
        model = lever_field.annotation
        lever = getattr(resolved.config.interventions, lever_name)
        for name, field in model.model_fields.items():  # type: ignore[union-attr]
            value = getattr(lever, name)
            path = f"interventions.{lever_name}.{name}"
            note = resolved.provenance.get(path)
            if isinstance(value, bool):
                kind = "flag"
            elif isinstance(value, (int, float)) and name != "start_year":
                kind = "number"
            else:
                continue
            low, high = _limits(field)
            source = (
                note.source
                if note
                else ("model default" if value == field.default else "set in the scenario")
            )
            bound = bounds.get((lever_name, name))
            fields.append(
                LeverField(
                    path,
                    kind,
                    value,
                    low,
                    high,
                    isinstance(value, int) and not isinstance(value, bool),
                    note.unit if note else "",
                    source,
                    bound[0] if bound else None,
                )
            )
    return fields


def changed_values(fields: list[LeverField], inputs: dict[str, Any]) -> dict[str, Any]:
    """The settings the planner changed, by dotted path (values as the inputs give them)."""
    changes = {}
    for item in fields:
        given = inputs.get(item.input_id)
        if given is None:
            continue
        if item.kind == "number" and item.integer and float(given).is_integer():
            given = int(given)
        if given != item.value:
            changes[item.path] = given
    return changes


def edited_toml(config: ModelConfig, base: str, changes: dict[str, Any]) -> str:
    """The edited scenario as a file: extends the shipped one, each change annotated."""
    tree: dict[str, Any] = {
        "extends": f"{base}.toml",
        "scenario": {"name": config.scenario.name, "description": config.scenario.description},
    }
    stamp = f"changed in ucsim app on {dt.date.today().isoformat()} (was the {base} value)"
    for path, value in changes.items():
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value if isinstance(value, bool) else {"value": value, "source": stamp}
    return "# Saved from ucsim app; put it in scenarios/ and run it with ucsim run.\n" + (
        tomli_w.dumps(tree)
    )


def _lever_row(item: LeverField) -> Any:
    flag = ""
    if item.bound is not None and item.kind == "number" and item.value < item.bound:
        flag = f" beyond the published evidence (bound {item.bound:g})"
    if item.kind == "flag":
        control = ui.input_switch(item.input_id, None, value=bool(item.value))
    else:
        control = ui.input_numeric(
            item.input_id,
            None,
            value=item.value,
            min=item.low,
            max=item.high,
            step=1 if item.integer else 0.01,
            width="9rem",
        )
    return ui.tags.tr(
        ui.tags.td(item.path.removeprefix("interventions.")),
        ui.tags.td(control),
        ui.tags.td(item.unit),
        ui.tags.td(item.source + flag, class_="text-danger" if flag else ""),
    )


def app_ui() -> Any:
    areas = [p.name for p in list_area_dirs()]
    scenarios = [p.stem for p in default_scenario_paths()]
    return ui.page_sidebar(
        ui.sidebar(
            ui.input_select("area", "Area", choices=areas, selected="dudley"),
            ui.input_checkbox_group(
                "scenarios", "Scenarios", choices=scenarios, selected=scenarios
            ),
            ui.input_select("edit", "Scenario to edit", choices=scenarios, selected="base-case"),
            ui.output_ui("problems"),
            ui.input_file("upload", "Or upload a scenario (.toml)", accept=[".toml"]),
            ui.input_numeric(
                "replications", "Replications (full run)", value=10, min=2, max=MAX_APP_REPLICATIONS
            ),
            ui.input_action_button("trial", "Trial run", class_="btn-secondary"),
            ui.input_action_button("full", "Full run", class_="btn-primary"),
            ui.input_action_button("cancel", "Cancel", class_="btn-outline-danger"),
            ui.output_ui("status"),
            width=320,
        ),
        ui.navset_tab(
            ui.nav_panel("Levers", ui.output_ui("levers")),
            ui.nav_panel("Targets", ui.output_ui("targets_note"), ui.output_data_frame("targets")),
            ui.nav_panel("Trajectories", ui.output_plot("trajectory", height="420px")),
            ui.nav_panel("Money", ui.output_data_frame("money")),
            ui.nav_panel("Runs", ui.output_data_frame("runs")),
            ui.nav_panel(
                "What would it take?",
                ui.p(
                    "The cheapest mix of the levers between do nothing and the best case "
                    "(each within its evidence) that meets every target of the area with at "
                    "least this probability: a quick search (each lever off or full; see "
                    "ucsim goal for finer steps). It takes minutes."
                ),
                ui.input_slider(
                    "goal_p", "Required p_met", min=0.5, max=0.95, value=0.8, step=0.05
                ),
                ui.input_action_button("goal_start", "Search", class_="btn-primary"),
                ui.input_action_button("goal_cancel", "Cancel search", class_="btn-outline-danger"),
                ui.output_ui("goal_status"),
                ui.output_ui("goal_answer"),
                ui.output_image("goal_frontier", height="auto"),
                ui.download_button("get_goal", "Goal report (html)"),
            ),
            ui.nav_panel(
                "Downloads",
                ui.download_button("get_zip", "Results folder (zip)"),
                ui.download_button("get_workbook", "Workbook (xlsx)"),
                ui.download_button("get_report", "Report (html)"),
                ui.download_button("get_paper", "Board paper (docx)"),
                ui.download_button("get_scenario", "Edited scenario (toml)"),
            ),
            id="tabs",
        ),
        title="ucsim: urgent care scenarios",
    )


def make_server(manager: JobManager) -> Any:
    def server(input: Any, output: Any, session: Any) -> None:
        job: reactive.Value[Job | None] = reactive.Value(None)
        finished: reactive.Value[Path | None] = reactive.Value(None)
        history: reactive.Value[list[dict[str, Any]]] = reactive.Value([])
        problem: reactive.Value[str] = reactive.Value("")
        uploaded: reactive.Value[Path | None] = reactive.Value(None)
        workdir = Path(tempfile.mkdtemp(prefix="ucsim-app-"))

        def scenario_path(name: str) -> Path:
            upload = uploaded.get()
            if upload is not None and upload.stem == name:
                return upload
            return next(p for p in default_scenario_paths() if p.stem == name)

        @reactive.calc
        def fields() -> list[LeverField]:
            return lever_fields(scenario_path(input.edit()), input.area())

        @reactive.effect
        @reactive.event(input.upload)
        def _upload() -> None:
            files = input.upload() or []
            if not files:
                return
            info = files[0]
            source = Path(info["datapath"])
            if source.stat().st_size > UPLOAD_LIMIT_BYTES:
                problem.set(f"{info['name']}: larger than {UPLOAD_LIMIT_BYTES // 1024} KB")
                return
            for shipped in default_scenario_paths():  # so `extends = "base-case.toml"` works
                shutil.copyfile(shipped, workdir / shipped.name)
            target = workdir / "upload.toml"
            shutil.copyfile(source, target)
            try:
                config = resolve(target, area=input.area()).config
            except InputError as exc:
                problem.set(
                    "\n".join(str(p).replace(str(target), info["name"]) for p in exc.problems)
                )
                return
            names = [p.stem for p in default_scenario_paths()]
            if config.scenario.name in names:
                problem.set(
                    f"{info['name']}: scenario.name = {config.scenario.name!r}: a shipped "
                    "scenario has this name; give yours another"
                )
                return
            named = workdir / f"{config.scenario.name}.toml"
            shutil.move(target, named)
            uploaded.set(named)
            problem.set("")
            choices = [*names, named.stem]
            ui.update_select("edit", choices=choices, selected=named.stem)
            ui.update_checkbox_group(
                "scenarios", choices=choices, selected=[*input.scenarios(), named.stem]
            )

        def edited_configs(trial: bool) -> list[ModelConfig] | None:
            configs = []
            for name in input.scenarios() or []:
                config = resolve(scenario_path(name), area=input.area()).config
                if name == input.edit():
                    values = {f.input_id: input[f.input_id]() for f in fields()}
                    changes = changed_values(fields(), values)
                    if changes:
                        try:
                            config = modify(config, changes).renamed(f"{name}-edited")
                        except InputError as exc:
                            problem.set(
                                "\n".join(
                                    f"{p.field} = {p.value!r}: {p.rule}" for p in exc.problems
                                )
                            )
                            return None
                if trial:
                    config = modify(config, {"run.years": TRIAL_YEARS})
                configs.append(config)
            if not configs:
                problem.set("choose at least one scenario")
                return None
            problem.set("")
            return configs

        def start(trial: bool) -> None:
            configs = edited_configs(trial)
            if configs is None:
                return
            replications = TRIAL_REPLICATIONS if trial else int(input.replications() or 0)
            if not 2 <= replications <= MAX_APP_REPLICATIONS:
                problem.set(f"replications = {replications}: 2 to {MAX_APP_REPLICATIONS}")
                return
            request = request_for(configs, replications, report=not trial)
            job.set(manager.submit(request))

        @reactive.effect
        @reactive.event(input.trial)
        def _trial() -> None:
            start(trial=True)

        @reactive.effect
        @reactive.event(input.full)
        def _full() -> None:
            start(trial=False)

        @reactive.effect
        @reactive.event(input.cancel)
        def _cancel() -> None:
            current = job.get()
            if current is not None:
                manager.cancel(current)

        @render.ui
        def status() -> Any:
            current = job.get()
            if current is None:
                return ui.p("No run yet: start with a trial run.")
            found = manager.progress(current)
            if found.state == "running":
                reactive.invalidate_later(0.5)
                share = found.done / found.total if found.total else 0
                return ui.div(
                    ui.p(
                        f"running: {found.done} of {found.total} replications, {found.seconds:.0f} s"
                    ),
                    ui.tags.progress(
                        value=str(found.done), max=str(found.total), style="width:100%"
                    ),
                    ui.p(f"{share:.0%}", class_="small"),
                    id="run-status",
                )
            if found.state == "done":
                with reactive.isolate():
                    if finished.get() != current.folder:
                        finished.set(current.folder)
                        _remember(current, found.seconds)
                cached = (
                    " (served from the store: the same inputs ran before)" if current.cached else ""
                )
                done = ui.p(f"done in {found.seconds:.1f} s{cached}", id="run-status")
                request = current.request
                assert isinstance(request, JobRequest)
                trial = request.configs[0].run.years == TRIAL_YEARS
                if not trial or current.cached:
                    return done
                with reactive.isolate():
                    wanted = int(input.replications() or 10)
                    years = resolve(scenario_path(input.edit()), area=input.area()).config.run.years
                # replication-years scale the work; a crude guide, labelled as such
                minutes = found.seconds * wanted * years / (request.replications * TRIAL_YEARS) / 60
                return ui.div(
                    done,
                    ui.p(
                        f"a full run of {wanted} replications over {years} years: roughly "
                        f"{minutes:.0f} min here (scaled from this trial)",
                        class_="small",
                        id="estimate",
                    ),
                )
            if found.state == "cancelled":
                return ui.p("cancelled: nothing was kept", id="run-status")
            return ui.p(f"failed: {current.error}", id="run-status", class_="text-danger")

        def _remember(current: Job, seconds: float) -> None:
            assert isinstance(current.request, JobRequest)
            summary = whole_area(pd.read_csv(current.folder / "summary.csv"))
            last = summary[summary["year"] == summary["year"].max()]
            row: dict[str, Any] = {
                "run": len(history.get()) + 1,
                "key": current.key[:10],
                "replications": current.request.replications,
                "years": current.request.configs[0].run.years,
                "seconds": round(seconds, 1),
            }
            for name in (c.scenario.name for c in current.request.configs):
                part = last[(last["scenario"] == name) & (last["metric"] == "emergency_admissions")]
                if len(part):
                    row[f"{name}: emergency admissions"] = round(float(part["mean"].iloc[0]))
            history.set([*history.get(), row])

        @render.ui
        def problems() -> Any:
            text = problem.get()
            if not text:
                return None
            return ui.div(
                ui.tags.strong("invalid input: "),
                ui.tags.div(text, style="white-space: pre-wrap; word-break: break-word"),
                class_="alert alert-danger",
                id="problem",
            )

        @render.ui
        def levers() -> Any:
            rows = [_lever_row(item) for item in fields()]
            head = ui.tags.tr(*(ui.tags.th(h) for h in ("setting", "value", "unit", "source")))
            return ui.tags.table(ui.tags.thead(head), ui.tags.tbody(*rows), class_="table table-sm")

        @render.data_frame
        def targets() -> Any:
            folder = finished.get()
            if folder is None:
                return pd.DataFrame()
            table = pd.read_csv(folder / "targets.csv")
            keep = [
                "scenario",
                "target_id",
                "year",
                "mean",
                "target",
                "p_met",
                "status",
                "delivered_share",
            ]
            shown = table[~table["status"].isin(["beyond the run", "not modelled"])]
            return render.DataGrid(shown[keep].round(3), width="100%")

        @render.ui
        def targets_note() -> Any:
            folder = finished.get()
            if folder is None:
                return ui.p("No run yet.")
            table = pd.read_csv(folder / "targets.csv")
            beyond = int((table["status"] == "beyond the run").sum())
            missing = int((table["status"] == "not modelled").sum())
            return ui.p(
                f"{beyond} target rows fall beyond this run's years (a trial runs "
                f"{TRIAL_YEARS}); {missing} are not modelled (see targets.csv in the zip)."
            )

        @render.plot
        def trajectory() -> Any:
            import matplotlib.pyplot as plt

            folder = finished.get()
            fig, ax = plt.subplots(figsize=(8, 4))
            if folder is None:
                ax.text(0.5, 0.5, "run a trial to see trajectories", ha="center")
                return fig
            summary = whole_area(pd.read_csv(folder / "summary.csv"))
            part = summary[summary["metric"] == "emergency_admissions"]
            for name, rows in part.groupby("scenario", sort=False):
                ax.plot(rows["financial_year"], rows["mean"], marker="o", label=name)
                ax.fill_between(rows["financial_year"], rows["ci_low"], rows["ci_high"], alpha=0.2)
            ax.set_ylabel("emergency admissions a year (95% CI)")
            ax.legend(frameon=False)
            ax.spines[["top", "right"]].set_visible(False)
            return fig

        @render.data_frame
        def money() -> Any:
            folder = finished.get()
            if folder is None or not (folder / "net_position.csv").exists():
                return pd.DataFrame({"note": ["no finance for this area or no run yet"]})
            finance = pd.read_csv(folder / "finance.csv")
            last = finance[
                (finance["year"] == finance["year"].max()) & (finance["line"] == "total_simulated")
            ]  # the provider's own total row: summing every line would count it twice
            at_risk = (
                last.groupby(["scenario", "financial_year", "provider"], sort=False)[
                    ["baseline_income", "scenario_income", "income_at_risk"]
                ]
                .sum()
                .reset_index()
                .assign(measure="provider income at risk (simulated lines)")
                .rename(columns={"income_at_risk": "value"})
            )
            net = pd.read_csv(folder / "net_position.csv")
            net = net[net["year"] == net["year"].max()].assign(provider="commissioner")
            columns = ["scenario", "financial_year", "provider", "measure", "value"]
            table = pd.concat([at_risk[columns], net[[*columns, "ci_low", "ci_high"]]])
            return render.DataGrid(table.round(0), width="100%")

        @render.data_frame
        def runs() -> Any:
            return render.DataGrid(pd.DataFrame(history.get()), width="100%")

        def _folder() -> Path:
            folder = finished.get()
            if folder is None:
                raise ValueError("no finished run yet")
            return folder

        @render.download_button(filename="ucsim-results.zip")
        def get_zip() -> Any:
            buffer = io.BytesIO()
            root = _folder()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(root.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(root))
            yield buffer.getvalue()

        @render.download_button(filename="income_at_risk.xlsx")
        def get_workbook() -> Any:
            return str(_folder() / "income_at_risk.xlsx")

        def _report_file(name: str) -> str:
            path = _folder() / name
            if not path.exists():
                raise ValueError(f"{name} is written by a full run, not by a trial")
            return str(path)

        @render.download_button(filename="report.html")
        def get_report() -> Any:
            return _report_file("report.html")

        @render.download_button(filename="board_paper.docx")
        def get_paper() -> Any:
            return _report_file("board_paper.docx")

        @render.download_button(filename=lambda: f"{input.edit()}-edited.toml")
        def get_scenario() -> Any:
            values = {f.input_id: input[f.input_id]() for f in fields()}
            changes = changed_values(fields(), values)
            config = resolve(scenario_path(input.edit()), area=input.area()).config
            yield edited_toml(config.renamed(f"{input.edit()}-edited"), input.edit(), changes)

        goal_job: reactive.Value[Job | None] = reactive.Value(None)

        @reactive.effect
        @reactive.event(input.goal_start)
        def _goal_start() -> None:
            shipped = {p.stem: p for p in default_scenario_paths()}
            settings = GoalSettings(
                required=float(input.goal_p()),
                fractions=(0.0, 1.0),
                first=3,
                step=3,
                most=9,
                confirm=10,
            )
            request = GoalJobRequest(
                shipped["do-nothing"], shipped["best-case"], input.area(), settings
            )
            goal_job.set(manager.submit(request))

        @reactive.effect
        @reactive.event(input.goal_cancel)
        def _goal_cancel() -> None:
            current = goal_job.get()
            if current is not None:
                manager.cancel(current)

        @render.ui
        def goal_status() -> Any:
            current = goal_job.get()
            if current is None:
                return None
            found = manager.progress(current)
            if found.state == "running":
                reactive.invalidate_later(1.0)
                return ui.p(
                    f"searching: {found.done} replications simulated, {found.seconds:.0f} s",
                    id="goal-status",
                )
            if found.state == "failed":
                return ui.p(f"failed: {current.error}", id="goal-status", class_="text-danger")
            return ui.p(f"{found.state} in {found.seconds:.0f} s", id="goal-status")

        @reactive.calc
        def goal_folder() -> Path | None:
            current = goal_job.get()
            if current is None:
                return None
            if manager.progress(current).state == "running":
                reactive.invalidate_later(1.0)
                return None
            return current.folder if current.state == "done" else None

        @render.ui
        def goal_answer() -> Any:
            folder = goal_folder()
            if folder is None:
                return None
            found = json.loads((folder / "goal.json").read_text(encoding="utf-8"))
            return ui.div(*(ui.p(line) for line in found["statements"]), id="goal-answer")

        @render.image
        def goal_frontier() -> Any:
            folder = goal_folder()
            if folder is None:
                return None
            return {"src": str(folder / "frontier.png"), "width": "640px"}

        @render.download_button(filename="goal.html")
        def get_goal() -> Any:
            folder = goal_folder()
            if folder is None:
                raise ValueError("no finished search yet")
            return str(folder / "goal.html")

        session.on_ended(lambda: shutil.rmtree(workdir, ignore_errors=True))

    return server


def create_app(store_root: Path, jobs_per_run: int = 1) -> App:
    """The app, with finished runs kept in ``store_root`` (one folder per job key)."""
    manager = JobManager(JobStore(store_root), jobs_per_run)
    return App(app_ui(), make_server(manager))
