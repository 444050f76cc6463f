"""Batch runs as jobs for the web app: each in its own process, keyed by what it computes,
cancellable, and never leaving half a results folder.

A job's key is the sha256 of its resolved configurations, seed, replications, whether it
writes a report, and the model version; a finished job's folder is kept in the store
under that key, so the same request is served from the store instead of rerunning (as
AnyLogic Cloud does). A job runs in a new process group: cancelling it stops the job's
process and its replication workers together, and its folder, prepared under a hidden
name beside the store's, is removed. Only a finished folder is renamed into the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from sim.config import ModelConfig
from sim.goal import GoalSettings
from sim.loading import config_sha256, resolve
from sim.store import ResultsFolder, tool_version

State = Literal["running", "done", "cancelled", "failed"]
ERROR_FILE = "job-error.txt"


@dataclass(frozen=True)
class JobRequest:
    configs: tuple[ModelConfig, ...]
    replications: int
    seed: int
    report: bool = False

    @property
    def key(self) -> str:
        payload = {
            "configs": [config_sha256(c) for c in self.configs],
            "replications": self.replications,
            "seed": self.seed,
            "report": self.report,
            "version": tool_version(),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    @property
    def total(self) -> int:
        return self.replications * len(self.configs)


@dataclass(frozen=True)
class GoalJobRequest:
    """A ``ucsim goal --quick`` search between two shipped scenarios, as a job."""

    reference: Path
    ambition: Path
    area: str
    settings: GoalSettings
    overrides: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        configs = [
            config_sha256(resolve(path, area=self.area, overrides=self.overrides).config)
            for path in (self.reference, self.ambition)
        ]
        recorded = {k: v for k, v in self.settings.__dict__.items() if k not in ("jobs", "backend")}
        payload = {"goal": configs, "settings": recorded, "version": tool_version()}
        return hashlib.sha256(
            json.dumps(payload, sort_keys=True, default=list).encode()
        ).hexdigest()

    @property
    def total(self) -> int:
        return 0  # not known in advance: the search decides how many replications


@dataclass
class Job:
    request: JobRequest | GoalJobRequest
    folder: Path  # where the results are (the store's folder once done)
    staging: Path | None = None
    process: multiprocessing.process.BaseProcess | None = None
    state: State = "running"
    cached: bool = False
    error: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def key(self) -> str:
        return self.request.key


@dataclass(frozen=True)
class JobProgress:
    done: int
    total: int
    state: State
    seconds: float


def _run_batch(request: JobRequest, staging: Path, jobs: int) -> None:
    from sim.batch import BatchOptions, run_batch

    options = BatchOptions(
        replications=request.replications,
        seed=request.seed,
        jobs=jobs,
        backend="loky",
        report=request.report,
    )
    run_batch(list(request.configs), staging, options)
    if request.report:
        from sim.documents import write_report

        folder = ResultsFolder(staging)
        write_report(staging)
        manifest = folder.read_manifest()
        manifest["report"] = "written"
        folder.write_manifest(manifest)


def _run_goal(request: GoalJobRequest, staging: Path, jobs: int) -> None:
    from sim.api import goal

    settings = replace(request.settings, jobs=jobs)
    goal(request.reference, request.ambition, staging, request.area, request.overrides, settings)


def _job_process(request: JobRequest | GoalJobRequest, staging: Path, jobs: int) -> None:
    """A job's process: its own process group, so a cancel reaches its workers too; an
    error is written beside the job's folder for the app to show."""
    os.setpgrp()
    try:
        if isinstance(request, GoalJobRequest):
            _run_goal(request, staging, jobs)
        else:
            _run_batch(request, staging, jobs)
    except BaseException as exc:  # reported to the app, which shows it
        text = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        staging.mkdir(parents=True, exist_ok=True)
        (staging / ERROR_FILE).write_text(text, encoding="utf-8")
        os._exit(1)
    # Every file is written (atomically). Leave now: an idle worker pool would otherwise
    # keep this process waiting for its workers' idle timeout (minutes).
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
    os._exit(0)


def _server_of(staging: Path) -> int:
    try:
        return int(staging.name.split("-")[1])
    except (IndexError, ValueError):
        return 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


class JobStore:
    """Finished results by job key, in ``root``; jobs in progress beside them, hidden."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(".running-*"):  # left by a server that was killed
            if not _alive(_server_of(stale)):
                shutil.rmtree(stale, ignore_errors=True)

    def folder(self, key: str) -> Path:
        return self.root / key

    def finished(self, request: JobRequest | GoalJobRequest) -> bool:
        if isinstance(request, GoalJobRequest):
            try:
                found = json.loads((self.folder(request.key) / "goal.json").read_text("utf-8"))
            except (OSError, ValueError):
                return False
            return bool(found.get("status") == "complete")
        folder = ResultsFolder(self.folder(request.key))
        if not folder.exists():
            return False
        manifest = folder.read_manifest()
        wanted = "written" if request.report else manifest.get("report")
        return manifest.get("status") == "complete" and manifest.get("report") == wanted


class JobManager:
    """Starts, follows and cancels jobs; one per distinct key at a time."""

    def __init__(self, store: JobStore, jobs_per_run: int = 1):
        self.store = store
        self.jobs_per_run = jobs_per_run
        self.running: dict[str, Job] = {}
        self.context = multiprocessing.get_context("spawn")

    def submit(self, request: JobRequest | GoalJobRequest) -> Job:
        """A finished job from the store, the same job already running, or a new one."""
        key = request.key
        if self.store.finished(request):
            return Job(request, self.store.folder(key), state="done", cached=True)
        if key in self.running and self.running[key].state == "running":
            return self.running[key]
        # the server's pid in the name: another server sharing the store leaves it alone
        staging = self.store.root / f".running-{os.getpid()}-{key[:16]}-{uuid.uuid4().hex[:8]}"
        process = self.context.Process(
            target=_job_process, args=(request, staging, self.jobs_per_run), daemon=False
        )
        process.start()
        job = Job(request, self.store.folder(key), staging=staging, process=process)
        self.running[key] = job
        return job

    def progress(self, job: Job) -> JobProgress:
        """Where a job stands; a job whose process has ended is settled here."""
        if job.state == "running":
            self._settle(job)
        done = job.request.total if job.state == "done" else self._done(job)
        end = job.finished or time.monotonic()
        return JobProgress(done, job.request.total, job.state, end - job.started)

    def wait(self, job: Job, timeout: float, poll: float = 0.2) -> JobProgress:
        """Block until the job ends (for tests and scripts; the app polls instead)."""
        limit = time.monotonic() + timeout
        while (found := self.progress(job)).state == "running" and time.monotonic() < limit:
            time.sleep(poll)
        return found

    def cancel(self, job: Job) -> None:
        """Stop the job's process group and remove its unfinished folder."""
        if job.state != "running" or job.process is None:
            return
        pid = job.process.pid
        if pid is not None:
            for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:  # not yet its own group: no workers yet either
                    job.process.kill()
                job.process.join(grace)
                if not job.process.is_alive():
                    break
            with contextlib.suppress(ProcessLookupError):  # workers of a killed process
                os.killpg(pid, signal.SIGKILL)
        job.process.join(1.0)
        if job.staging is not None:
            shutil.rmtree(job.staging, ignore_errors=True)
        job.state, job.finished = "cancelled", time.monotonic()
        self.running.pop(job.key, None)

    def _done(self, job: Job) -> int:
        folder = job.staging if job.state == "running" else job.folder
        if folder is None:
            return 0
        if isinstance(job.request, GoalJobRequest):
            return sum(1 for _ in folder.rglob("rep-*.parquet"))
        try:
            runs = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["runs"]
        except (OSError, ValueError, KeyError):
            return 0
        return sum(1 for run in runs.values() if run.get("status") == "done")

    def _settle(self, job: Job) -> None:
        if job.process is None or job.process.is_alive():
            return
        job.finished = time.monotonic()
        self.running.pop(job.key, None)
        staging = job.staging
        assert staging is not None
        written = "goal.json" if isinstance(job.request, GoalJobRequest) else "manifest.json"
        if job.process.exitcode == 0 and (staging / written).exists():
            if job.folder.exists():  # another job of the same key finished first
                shutil.rmtree(staging, ignore_errors=True)
            else:
                os.replace(staging, job.folder)
            job.state = "done"
            return
        error = staging / ERROR_FILE
        job.error = (
            error.read_text(encoding="utf-8").splitlines()[0]
            if error.exists()
            else f"the job's process ended with code {job.process.exitcode}"
        )
        shutil.rmtree(staging, ignore_errors=True)
        job.state = "failed"


def request_for(
    configs: Sequence[ModelConfig], replications: int, seed: int | None = None, report: bool = False
) -> JobRequest:
    """A job for these configs (seed: the first config's run.seed unless given)."""
    return JobRequest(
        tuple(configs), replications, configs[0].run.seed if seed is None else seed, report
    )
