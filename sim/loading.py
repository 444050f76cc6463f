"""Reading area and scenario files into one validated :class:`ModelConfig`.

Resolution order (later wins): ``calibration/<area>/area.toml``, the area's
``fitted.toml`` if present, the scenario chain (a file that ``extends``
another is applied after it), then ``--set`` overrides. Any value may be
written as ``{value = ..., unit = "...", source = "...", confidence = "S|P|E"}``;
the annotation is kept as provenance and the bare value is validated.
Nothing here mutates its inputs: each step returns a new tree.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.config import AGE_BANDS, ModelConfig, Practice
from sim.errors import InputError, InputProblem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ANNOTATION_KEYS = frozenset({"value", "unit", "source", "confidence", "note", "price_year"})
CONFIDENCE_CODES = frozenset({"S", "P", "E"})
DEFAULT_AREA = "dudley"
COMMAND_LINE = "--set"
OPTION = "command line"  # the file of an error in a command-line option other than --set
PRACTICE_COLUMNS = (
    "practice_code",
    "practice_name",
    "locality",
    "list_size",
    "list_size_confidence",
    "list_size_source",
    *AGE_BANDS,
    "age_mix_confidence",
    "age_mix_source",
)


@dataclass(frozen=True)
class ParameterNote:
    """Unit, source and confidence of one parameter, and the file that set it."""

    unit: str
    source: str
    confidence: str
    file: str
    note: str = ""
    price_year: str = ""  # financial year a price was published in (tariffs only)


@dataclass(frozen=True)
class ResolvedConfig:
    """A validated config with the provenance of every annotated value."""

    config: ModelConfig
    provenance: Mapping[str, ParameterNote] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    # Values in area.toml that fitted.toml replaces: path -> (area.toml value, file that wins)
    shadowed: Mapping[str, tuple[Any, str]] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return config_sha256(self.config)


def config_sha256(config: ModelConfig) -> str:
    """Stable fingerprint of a resolved config (used in manifests and caches)."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()


DATA_ROOT_VARIABLE = "UCSIM_DATA"  # a folder with calibration/ and scenarios/ to use instead


def project_root() -> Path:
    """The folder holding ``calibration/`` and ``scenarios/``: ``$UCSIM_DATA`` if set, else
    the checkout the package runs from, else the copy installed with the package (a wheel)."""
    chosen = os.environ.get(DATA_ROOT_VARIABLE)
    if chosen:
        return Path(chosen).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "calibration").is_dir() and (checkout / "scenarios").is_dir():
        return checkout
    return Path(__file__).resolve().parent / "_data"


def results_root() -> Path:
    """Where results go unless ``--out`` says otherwise: ``results/`` in the checkout, or
    in the current folder when ucsim is installed as a package."""
    checkout = Path(__file__).resolve().parent.parent
    if project_root() == checkout:
        return checkout / "results"
    return Path.cwd() / "results"


def area_dir(area: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "calibration" / area


def default_scenario_paths(root: Path | None = None) -> list[Path]:
    base = (root or project_root()) / "scenarios"
    return [base / f"{name}.toml" for name in ("do-nothing", "base-case", "best-case")]


def read_text(path: Path, what: str = "file") -> str:
    """A user's text file as UTF-8 (a byte-order mark, as Excel writes, is accepted);
    anything unreadable is an input error naming the file."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError.single(str(path), "", str(path), f"{what} not found") from None
    except (IsADirectoryError, PermissionError) as exc:
        rule = f"cannot be read: {exc.strerror}"
        raise InputError.single(str(path), "", str(path), rule) from None
    except UnicodeDecodeError as exc:
        rule = f"not UTF-8 text (byte {exc.start}): save it as UTF-8"
        raise InputError.single(str(path), "", "", rule) from None


def read_toml(path: Path) -> dict[str, Any]:
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError.single(str(path), "", "", f"not valid TOML: {exc}") from None


def split_annotations(
    tree: Mapping[str, Any], file: str, prefix: str = ""
) -> tuple[dict[str, Any], dict[str, ParameterNote], dict[str, str]]:
    """Separate ``{value, unit, source}`` annotations from bare values.

    Returns the bare tree, the notes by dotted path, and the file each leaf came from.
    """
    values: dict[str, Any] = {}
    notes: dict[str, ParameterNote] = {}
    origins: dict[str, str] = {}
    for key, item in tree.items():
        path = f"{prefix}{key}"
        if isinstance(item, Mapping) and "value" in item:
            unknown = set(item) - ANNOTATION_KEYS
            if unknown:
                raise InputError.single(
                    file,
                    path,
                    dict(item),
                    f"annotation has unknown keys {sorted(unknown)}; "
                    f"allowed: {sorted(ANNOTATION_KEYS)}",
                )
            for text_key in sorted(set(item) - {"value"}):
                if not isinstance(item[text_key], str):
                    raise InputError.single(
                        file,
                        f"{path}.{text_key}",
                        item[text_key],
                        "annotation text must be a quoted string",
                    )
            confidence = str(item.get("confidence", ""))
            if confidence and confidence not in CONFIDENCE_CODES:
                raise InputError.single(
                    file, f"{path}.confidence", confidence, "must be one of S, P, E"
                )
            notes[path] = ParameterNote(
                unit=str(item.get("unit", "")),
                source=str(item.get("source", "")),
                confidence=confidence,
                file=file,
                note=str(item.get("note", "")),
                price_year=str(item.get("price_year", "")),
            )
            item = item["value"]
        if isinstance(item, Mapping):
            sub_values, sub_notes, sub_origins = split_annotations(item, file, f"{path}.")
            values[key] = sub_values
            notes.update(sub_notes)
            origins.update(sub_origins)
        elif isinstance(item, list) and item and all(isinstance(i, Mapping) for i in item):
            rows = []
            for index, row in enumerate(item):  # arrays of tables, e.g. [[provider]]
                sub_values, sub_notes, sub_origins = split_annotations(
                    row, file, f"{path}.{index}."
                )
                rows.append(sub_values)
                notes.update(sub_notes)
                origins.update(sub_origins)
            values[key] = rows
        else:
            values[key] = item
        origins[path] = file
    return values, notes, origins


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new tree: ``override`` laid over ``base`` table by table."""
    merged: dict[str, Any] = dict(base)
    for key, item in override.items():
        if isinstance(item, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], item)
        else:
            merged[key] = item
    return merged


def parse_override(text: str) -> tuple[str, Any]:
    """``a.b.c=value`` -> (``a.b.c``, value); the value is read as TOML, else as text."""
    if "=" not in text:
        raise InputError.single(COMMAND_LINE, text, text, "expected dotted.path=value")
    path, raw = (part.strip() for part in text.split("=", 1))
    if not path or any(not part for part in path.split(".")):
        raise InputError.single(COMMAND_LINE, path, raw, "empty segment in dotted path")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return path, value


def tree_with(tree: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A new tree with ``path`` set to ``value`` (intermediate tables created)."""
    head, _, rest = path.partition(".")
    out = dict(tree)
    if rest:
        child = out.get(head)
        out[head] = tree_with(child if isinstance(child, Mapping) else {}, rest, value)
    else:
        out[head] = value
    return out


def _scenario_chain(path: Path, seen: tuple[Path, ...] = ()) -> list[tuple[Path, dict[str, Any]]]:
    """The scenario files from the root ancestor to ``path``, each with its raw tree."""
    path = path.resolve()
    if path in seen:
        cycle = " -> ".join(str(p) for p in (*seen, path))
        raise InputError.single(str(path), "extends", str(path), f"extends cycle: {cycle}")
    raw = read_toml(path)
    parent = raw.pop("extends", None)
    chain: list[tuple[Path, dict[str, Any]]] = []
    if parent is not None:
        if not isinstance(parent, str):
            raise InputError.single(str(path), "extends", parent, "must be a file path (text)")
        parent_path = Path(parent) if Path(parent).is_absolute() else path.parent / parent
        if not parent_path.is_file():
            found = "is a folder, not a file" if parent_path.exists() else "file not found"
            raise InputError.single(
                str(path), "extends", parent, f"{found} (looked for {parent_path})"
            )
        chain = _scenario_chain(parent_path, (*seen, path))
    chain.append((path, raw))
    return chain


def load_practices(path: Path) -> tuple[Practice, ...]:
    """Read and validate an area's practices CSV, naming the row and column of any fault."""
    reader = csv.DictReader(io.StringIO(read_text(path, "practices file"), newline=""))
    columns = list(reader.fieldnames or [])
    rows = list(reader)
    missing = [c for c in PRACTICE_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in PRACTICE_COLUMNS]
    if missing or unknown:
        raise InputError.single(
            str(path), "columns", columns, f"missing columns {missing}; unknown columns {unknown}"
        )
    practices: list[Practice] = []
    problems: list[InputProblem] = []
    for line_number, row in enumerate(rows, start=2):
        record: dict[str, Any] = {k: row[k] for k in PRACTICE_COLUMNS if k not in AGE_BANDS}
        record["age_mix"] = {band: row[band] for band in AGE_BANDS}
        try:
            practices.append(Practice.model_validate(record))
        except ValidationError as exc:
            for err in exc.errors():
                column = ".".join(str(p) for p in err["loc"]) or "age_mix"
                problems.append(
                    InputProblem(
                        str(path),
                        f"line {line_number} ({row.get('practice_code', '?')}).{column}",
                        err.get("input"),
                        err["msg"],
                    )
                )
    if not rows:
        problems.append(InputProblem(str(path), "", "", "no practices listed"))
    codes = [p.practice_code for p in practices]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        problems.append(
            InputProblem(str(path), "practice_code", duplicates, "codes must be unique")
        )
    if problems:
        raise InputError(problems)
    return tuple(practices)


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Valid field names of the config block at ``loc`` (for 'did you mean' hints)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(str(part))
        if info is None:
            return []
        current = info.annotation
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _origin_of(path: str, origins: Mapping[str, str]) -> str:
    """Where the value at ``path`` came from: its own entry, a table above it, or (for an
    unknown table created by an override) the override below it."""
    probe = path
    while probe:
        if probe in origins:
            return origins[probe]
        probe = probe.rpartition(".")[0]
    below = [origin for key, origin in origins.items() if key.startswith(f"{path}.")]
    return below[0] if below else ""


def _problems_from(exc: ValidationError, origins: Mapping[str, str]) -> list[InputProblem]:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        path = ".".join(loc)
        rule = err["msg"]
        if err["type"] == "extra_forbidden":
            candidates = _fields_at(ModelConfig, loc[:-1])
            close = difflib.get_close_matches(loc[-1], candidates, n=1)
            rule = "unknown parameter" + (f"; did you mean '{close[0]}'?" if close else "")
            if candidates and not close:
                rule += f"; valid names here: {', '.join(candidates)}"
        value = err.get("input")
        # A rule across sections (no location), or across one table's fields: name the
        # first parameter its message names (below the table, for a table's rule).
        named = [
            p
            for p in DOTTED_PATH.findall(rule)
            if (p.startswith(f"{path}.") if loc else _origin_of(p, origins))
        ]
        if named:
            inner = named[0][len(path) + 1 :] if loc else named[0]
            value = flatten(value).get(inner) if isinstance(value, Mapping) else None
            path = named[0]
        problems.append(InputProblem(_origin_of(path, origins), path, value, rule))
    return problems


DOTTED_PATH = re.compile(r"\b[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)+\b")


def resolve(
    scenario_path: Path | str,
    area: str | None = None,
    overrides: Sequence[str] = (),
    root: Path | None = None,
    include_fitted: bool = True,
) -> ResolvedConfig:
    """Resolve one scenario file against an area into a validated config."""
    chain = _scenario_chain(Path(scenario_path))
    scenario_tree: dict[str, Any] = {}
    scenario_notes: dict[str, ParameterNote] = {}
    scenario_origins: dict[str, str] = {}
    for path, raw in chain:
        values, file_notes, file_origins = split_annotations(raw, str(path))
        scenario_tree = deep_merge(scenario_tree, values)
        scenario_notes.update(file_notes)
        scenario_origins.update(file_origins)
    own_path, own_raw = chain[-1]
    own_name = own_raw.get("scenario", {}).get("name", own_path.stem)
    scenario_tree = tree_with(scenario_tree, "scenario.name", own_name)

    if area is not None and not area.strip():
        raise InputError.single(
            OPTION, "--area", area, "an area name is needed (or leave --area out)"
        )
    area_name = area or scenario_tree.get("scenario", {}).get("area") or DEFAULT_AREA
    folder = area_dir(area_name, root)
    if not (folder / "area.toml").exists():
        known = ", ".join(a.name for a in list_area_dirs(root)) or "none"
        file, field = (OPTION, "--area") if area else (str(own_path), "scenario.area")
        raise InputError.single(file, field, area_name, f"no such area (shipped areas: {known})")
    tree: dict[str, Any] = {}
    notes: dict[str, ParameterNote] = {}
    origins: dict[str, str] = {}
    files: list[str] = []
    layers = [folder / "area.toml", *([folder / "fitted.toml"] if include_fitted else [])]
    shadowed: dict[str, tuple[Any, str]] = {}  # still validated: see _check_shadowed
    for area_file in layers:
        if area_file.exists():
            values, file_notes, file_origins = split_annotations(
                read_toml(area_file), str(area_file)
            )
            if area_file.name == "fitted.toml":
                flat_before = flatten(tree)
                shadowed = {
                    path: (flat_before[path], str(area_file))
                    for path in flatten(values)
                    if path in flat_before and flat_before[path] != flatten(values)[path]
                }
            tree = deep_merge(tree, values)
            notes.update(file_notes)
            origins.update(file_origins)
            files.append(str(area_file))
    tree = deep_merge(tree, scenario_tree)
    notes.update(scenario_notes)  # later layers win, for provenance as for values
    origins.update(scenario_origins)
    tree = tree_with(tree, "scenario.area", area_name)
    files.extend(str(p) for p, _ in chain)
    for text in overrides:
        dotted, value = parse_override(text)
        _refuse_identity_override(dotted, value)
        tree = tree_with(tree, dotted, value)
        origins[dotted] = COMMAND_LINE
    practices_file = folder / _practices_file_name(tree, origins)
    tree["practices"] = load_practices(practices_file)
    files.append(str(practices_file))
    try:
        config = ModelConfig.model_validate(tree)
    except ValidationError as exc:
        raise InputError(_problems_from(exc, origins)) from None
    if shadowed:
        _check_shadowed(tree, shadowed, folder / "area.toml")
    return ResolvedConfig(config=config, provenance=notes, files=tuple(files), shadowed=shadowed)


def _practices_file_name(tree: Mapping[str, Any], origins: Mapping[str, str]) -> str:
    """The practice list's file name: a plain ``.csv`` name inside the area folder."""
    name = tree.get("area", {}).get("practices_file", "practices.csv")
    if not isinstance(name, str) or Path(name).name != name or not name.endswith(".csv"):
        raise InputError.single(
            _origin_of("area.practices_file", origins),
            "area.practices_file",
            name,
            "the name of a .csv file in the area's folder (e.g. practices.csv)",
        )
    return name


def _check_shadowed(
    tree: dict[str, Any],
    shadowed: Mapping[str, tuple[Any, str]],
    area_file: Path,
) -> None:
    """area.toml's own values where fitted.toml replaces them must still be valid: a
    refit (or removing fitted.toml) would use them."""
    check = tree
    for path, (value, _) in shadowed.items():
        check = tree_with(check, path, value)
    try:
        ModelConfig.model_validate(check)
    except ValidationError as exc:
        problems = [
            p
            for p in _problems_from(exc, {path: str(area_file) for path in shadowed})
            if any(
                p.field == s or p.field.startswith(f"{s}.") or s.startswith(f"{p.field}.")
                for s in shadowed
            )
        ]
        if problems:
            raise InputError(problems) from None


# Paths a --set may not change: they choose which files are loaded, not a parameter.
IDENTITY_PATHS = {
    "area": "the area is chosen with --area NAME (its files, targets and finance come with it)",
    "scenario.area": "the area is chosen with --area NAME",
    "scenario.name": "a scenario's name comes from its file (copy the file to rename it)",
    "practices": "practices come from the area's practices.csv (edit that file)",
}


def _refuse_identity_override(dotted: str, value: Any) -> None:
    for path, how in IDENTITY_PATHS.items():
        if dotted == path or dotted.startswith(f"{path}."):
            if dotted in ("area.display_name", "area.description"):
                return  # labels only
            raise InputError.single(COMMAND_LINE, dotted, value, f"cannot be set here: {how}")


def list_area_dirs(root: Path | None = None) -> list[Path]:
    base = (root or project_root()) / "calibration"
    return sorted(p for p in base.iterdir() if (p / "area.toml").exists()) if base.exists() else []


def with_overrides(
    config: ModelConfig, overrides: Mapping[str, Any], origin: str = "<python>"
) -> ModelConfig:
    """A new validated config with dotted-path values replaced; ``config`` is untouched.

    ``origin`` names where the values came from in any error (an option such as --vary)."""
    tree: dict[str, Any] = config.model_dump()
    for path, value in overrides.items():
        tree = tree_with(tree, path, value)
    try:
        return ModelConfig.model_validate(tree)
    except ValidationError as exc:
        raise InputError(_problems_from(exc, {p: origin for p in overrides})) from None


def config_differences(a: ModelConfig, b: ModelConfig) -> list[tuple[str, Any, Any]]:
    """Dotted paths whose resolved values differ between two configs, with both values."""
    left = flatten(a.model_dump(mode="json", exclude={"practices"}))
    right = flatten(b.model_dump(mode="json", exclude={"practices"}))
    out = [(p, left.get(p), right.get(p)) for p in sorted(set(left) | set(right))]
    changed = [row for row in out if row[1] != row[2]]
    if a.practices != b.practices:
        changed.append(
            ("practices", f"{len(a.practices)} practices", f"{len(b.practices)} practices")
        )
    return changed


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested tree as one level of dotted paths (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def validated_file(model: type[BaseModel], tree: Mapping[str, Any], path: Path) -> Any:
    """Validate a file's tree against ``model``; errors name the file and each field."""
    try:
        return model.model_validate(tree)
    except ValidationError as exc:
        raise InputError(
            [
                InputProblem(
                    str(path), ".".join(str(p) for p in e["loc"]), e.get("input"), e["msg"]
                )
                for e in exc.errors()
            ]
        ) from None


def provenance_lines(flat: Mapping[str, object], notes: Mapping[str, ParameterNote]) -> list[str]:
    """Resolved values as ``path = value  # unit [confidence] source (file)`` lines."""
    lines = []
    for path, value in flat.items():
        note = _note_for(path, notes)
        shown = (
            json.dumps(value)
            if isinstance(value, str)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
        if note is None:
            lines.append(f"{path} = {shown}")
            continue
        file = note.file.rsplit("/", 1)[-1]
        confidence = f"[{note.confidence}] " if note.confidence else ""
        lines.append(f"{path} = {shown}  # {note.unit}; {confidence}{note.source} ({file})")
    return lines


def _note_for(path: str, notes: Mapping[str, ParameterNote]) -> ParameterNote | None:
    probe = path
    while probe:
        if probe in notes:
            return notes[probe]
        probe = probe.rpartition(".")[0]
    return None
