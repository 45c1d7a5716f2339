"""The pulled raw tables on disk: ``snapshot/`` with one Parquet file per table + manifest.json.

Why a snapshot: ``reconcile report --snapshot DIR`` must give the same figures with no
network, and an auditor must be able to tell that nothing changed since the pull. So each
file's SHA-256 goes into the manifest, together with the SHA-256 and size of every input
spreadsheet the config names, and :func:`read_snapshot` refuses a file that no longer matches.

The folder is written under a temporary name next to its destination and renamed when
complete; an existing snapshot is replaced only after the new one is whole. No secret is ever
written: base URLs are redacted and auth objects never reach this module.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from reconcile import __version__
from reconcile.config import Config, resolved
from reconcile.errors import InputError
from reconcile.files import atomic_folder, sha256_of
from reconcile.sources import PullResult

SNAPSHOT = "snapshot"
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def table_file(source: str, table: str) -> str:
    return f"{source}__{table}.parquet"


def run_folder(config: Config, out: Path | None = None) -> Path:
    """``--out`` if given, else ``<[output] dir>/<period end as YYYY-MM>`` (DESIGN.md §3)."""
    if out is not None:
        return resolved(Path(out), what="--out")
    return config.output.dir / config.period.end.strftime("%Y-%m")


def write_snapshot(folder: Path, pulled: PullResult, config: Config) -> Path:
    """Write ``folder/snapshot/`` atomically and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / SNAPSHOT
    with atomic_folder(final) as temporary:
        manifest = _write_tables(temporary, pulled, config)
        _write_json(temporary / MANIFEST, manifest)
    return final


def _write_tables(folder: Path, pulled: PullResult, config: Config) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    for name, pull in pulled.sources.items():
        tables: dict[str, Any] = {}
        for table, frame in pull.tables.items():
            file = table_file(name, table)
            frame.to_parquet(folder / file, index=False, engine="pyarrow")
            tables[table] = {
                "file": file,
                "endpoint": pull.endpoints.get(table, ""),
                "rows": len(frame),
                "columns": {c: str(t) for c, t in frame.dtypes.items()},
                "duplicates_dropped": pull.duplicates.get(table, 0),
                "pulled_at": _iso(pull.pulled_at.get(table)),
                "sha256": sha256_of(folder / file),
            }
        stats = pull.stats.as_dict()
        sources[name] = {
            "base_url": pull.base_url,
            "tables": tables,
            "requests": stats["requests"],
            "retries": stats["retries"],
            "reauthentications": stats["reauthentications"],
            "warnings": stats["warnings"],
        }
        if stats["resumed"]:  # answers an interrupted run of this pull had received
            sources[name]["requests_resumed"] = stats["resumed"]
    return {
        "format": FORMAT_VERSION,
        "created_at": _iso(dt.datetime.now(dt.UTC)),
        "reconcile_version": __version__,
        "organisation": config.organisation.name,
        "timezone": config.organisation.timezone,
        "period": {
            "start": config.period.start.isoformat(),
            "end": config.period.end.isoformat(),
            "as_of": config.period.as_of.isoformat() if config.period.as_of else None,
        },
        "sources": sources,
        "inputs": [_input_entry(path) for path in config.input_files()],
    }


def _input_entry(path: Path) -> dict[str, Any]:
    return {
        "path": str(path),
        "name": path.name,
        "size": path.stat().st_size,
        "sha256": sha256_of(path),
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def read_snapshot(folder: Path) -> tuple[dict[tuple[str, str], pd.DataFrame], dict[str, Any]]:
    """Read a snapshot (the ``snapshot/`` folder or the run folder holding it), checking hashes.

    Returns the tables keyed by ``(source, table)`` and the manifest.
    """
    folder = Path(folder)
    if not (folder / MANIFEST).is_file() and (folder / SNAPSHOT / MANIFEST).is_file():
        folder = folder / SNAPSHOT
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InputError(
            f"{folder}: no {MANIFEST}, so this is not a reconcile snapshot; pass the snapshot "
            "folder written by `reconcile pull`"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InputError(
            f"{manifest_path}: not valid JSON; the snapshot is damaged: pull again"
        ) from None
    tables: dict[tuple[str, str], pd.DataFrame] = {}
    for source, info in manifest.get("sources", {}).items():
        for table, entry in info.get("tables", {}).items():
            path = folder / entry["file"]
            if not path.is_file():
                raise InputError(
                    f"{path}: missing from the snapshot; the snapshot is incomplete: pull again"
                )
            if sha256_of(path) != entry["sha256"]:
                raise InputError(
                    f"{path}: does not match its SHA-256 in {MANIFEST}; the snapshot was changed "
                    "or damaged since it was pulled: pull again"
                )
            tables[(source, table)] = pd.read_parquet(path, engine="pyarrow")
    return tables, manifest
