"""The results folder: atomic writes, the manifest, and one file per finished replication.

Nothing a user has produced is lost: every file is written to a temporary
name and renamed into place, each replication is saved the moment it
finishes, and the manifest records each one's status and timing, so an
interrupted batch can be resumed from what is on disk.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from sim.config import ModelConfig
from sim.errors import InputError
from sim.loading import config_sha256, project_root, read_toml

MANIFEST = "manifest.json"
REPLICATIONS_DIR = "replications"
SCENARIOS_DIR = "scenarios"
KPI_COLUMNS = (
    "scenario",
    "replication",
    "seed",
    "config_sha256",
    "year",
    "financial_year",
    "metric",
    "value",
    "locality",  # empty for the whole area; a locality's name for its own rows
)


def whole_area(frame: pd.DataFrame) -> pd.DataFrame:
    """The whole area's rows of a long table, without the ``locality`` column."""
    if "locality" not in frame.columns:
        return frame
    return frame[frame["locality"].isna()].drop(columns="locality").reset_index(drop=True)


def by_place(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a long table that belong to a locality (none in older results)."""
    if "locality" not in frame.columns:
        return frame.iloc[0:0].assign(locality=pd.Series(dtype=object))
    return frame[frame["locality"].notna()].reset_index(drop=True)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_private_dir_public(path: Path) -> None:
    """Give a folder made by tempfile.mkdtemp (mode 0700) the user's usual permissions."""
    os.chmod(path, 0o777 & ~_umask())


def write_text(path: Path, text: str) -> None:
    def write(target: Path) -> None:
        target.write_text(text, encoding="utf-8")

    atomic_write(path, write)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda p: frame.to_csv(p, index=False))


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda p: frame.to_parquet(p, index=False))


def _without_none(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _without_none(v) for k, v in tree.items() if v is not None}
    if isinstance(tree, list):
        return [_without_none(v) for v in tree]
    return tree


def config_to_toml(config: ModelConfig) -> str:
    header = (
        f"# Resolved configuration of scenario '{config.scenario.name}' as it ran.\n"
        f"# sha256 {config_sha256(config)}\n"
    )
    return header + tomli_w.dumps(_without_none(config.model_dump(mode="json")))


def config_from_toml(path: Path) -> ModelConfig:
    """Reload a resolved config written by :func:`config_to_toml` (exactly the same config)."""
    try:
        return ModelConfig.model_validate(read_toml(path))
    except ValueError as exc:
        raise InputError.single(str(path), "", "", f"not a resolved ucsim config: {exc}") from None


def git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=project_root(),
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ucsim")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


class ResultsFolder:
    """Reads and writes one run's folder."""

    def __init__(self, root: Path):
        self.root = Path(root)
        # Replications this object saved, kept so that a batch builds its tables without
        # reading back what it has just written (the frames are the ones read from disk).
        self._saved: dict[tuple[str, int], pd.DataFrame] = {}

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError.single(
                str(self.manifest_path),
                "",
                str(self.root),
                "no ucsim run here (manifest.json missing)",
            ) from None
        except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            raise InputError.single(
                str(self.manifest_path), "", str(self.root), f"not a results folder: {exc.strerror}"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError.single(str(self.manifest_path), "", "", f"unreadable: {exc}") from None

    def read_kpis(self, places: bool = False) -> pd.DataFrame:
        """The run's KPI table for the whole area (``places``: the localities' rows
        instead); a missing or damaged file is an input error naming it."""
        path = self.root / "kpis.parquet"
        try:
            table = pd.read_parquet(path)
            return by_place(table) if places else whole_area(table)
        except FileNotFoundError:
            raise InputError.single(str(path), "", "", "missing: the run did not finish") from None
        except Exception as exc:  # pyarrow raises several kinds for a damaged file
            raise InputError.single(
                str(path), "", "", f"damaged ({type(exc).__name__}): re-run the batch"
            ) from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json(self.manifest_path, manifest)

    def scenario_path(self, scenario: str) -> Path:
        return self.root / SCENARIOS_DIR / f"{scenario}.toml"

    def write_config(self, config: ModelConfig) -> None:
        write_text(self.scenario_path(config.scenario.name), config_to_toml(config))

    def read_config(self, scenario: str) -> ModelConfig:
        return config_from_toml(self.scenario_path(scenario))

    def replication_path(self, scenario: str, replication: int) -> Path:
        return self.root / REPLICATIONS_DIR / scenario / f"rep-{replication:05d}.parquet"

    def write_replication(self, scenario: str, replication: int, frame: pd.DataFrame) -> None:
        write_parquet(self.replication_path(scenario, replication), frame)
        self._saved[(scenario, replication)] = frame.reset_index(drop=True)

    def has_replication(self, scenario: str, replication: int) -> bool:
        return self.replication_path(scenario, replication).exists()

    def read_replications(
        self, scenario: str, replications: Iterable[int], places: bool = False
    ) -> pd.DataFrame:
        """Saved replications' rows for the whole area (``places``: the localities')."""
        frames = [
            self._saved[(scenario, r)]
            if (scenario, r) in self._saved
            else pd.read_parquet(self.replication_path(scenario, r))
            for r in replications
        ]
        table = pd.concat(frames, ignore_index=True)
        return by_place(table) if places else whole_area(table)


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def command_line() -> list[str]:
    return [Path(sys.argv[0]).name, *sys.argv[1:]]
