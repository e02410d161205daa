"""``tidal schema`` and ``tidal quarantine``: the guards' schema and quarantine from the shell.

``tidal schema infer data.csv --target y > schema.json`` writes an editable schema;
``tidal schema check data.csv --schema schema.json`` runs the guards over a file and counts;
``tidal quarantine list | show ID | fix | replay --schema schema.json | purge`` manage the
quarantine (``compare --schema`` keeps rejected rows in ``.tidal/quarantine.sqlite`` by default).
Bad input (a schema that is not JSON, names unknown columns, a missing quarantine) is one line on
stderr and exit code 2.

>>> from typer.testing import CliRunner
>>> result = CliRunner().invoke(schema_app, ["infer", "no-such.csv"])
>>> result.exit_code
2
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tidal.base.exceptions import TidalError
from tidal.cli._options import TargetOption, command_group
from tidal.cli._render import fail

__all__ = [
    "check_columns",
    "guard_for_source",
    "guard_lines",
    "load_guard",
    "quarantine_app",
    "schema_app",
]

schema_app = command_group(
    "schema", "Infer, check and use the schema the guards check rows against."
)
quarantine_app = command_group(
    "quarantine", "List, show, replay and purge the rows the guards rejected."
)

_BAD_INPUT = (TidalError, OSError, ValueError, KeyError)


def _message(err: BaseException) -> str:
    # KeyError's str() is the repr of its argument, quotes included
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)


def _names(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


# ------------------------------------------------------------------------------ helpers
def check_columns(
    schema: Any, columns: Iterable[str], where: str, data: str, *, special: bool = True
) -> None:
    """Raise SchemaError if ``schema`` (read from ``where``) names a column ``data`` lacks
    (``special=False``: features and target only, not the id and timestamp columns).

    >>> from tidal.guards import Schema
    >>> s = Schema.infer({"x": [1.0, 2.0], "y": [0, 1]}, "y")
    >>> check_columns(s, ["x"], "schema.json", "data.csv")
    Traceback (most recent call last):
    ...
    tidal.guards._schema.SchemaError: schema.json: target.name: no column 'y' in data.csv ...
    """
    from tidal.guards import SchemaError

    have = [str(c) for c in columns]
    named = [(f"columns.{c.name}", c.name) for c in schema.columns]
    if schema.target is not None:
        named.append(("target.name", schema.target.name))
    for key in ("id_column", "timestamp_column") if special else ():
        if getattr(schema, key) is not None:
            named.append((key, getattr(schema, key)))
    for field, name in named:
        if name not in have:
            raise SchemaError(f"{where}: {field}: no column {name!r} in {data} (columns: {have})")


def load_guard(schema_path: str | os.PathLike, quarantine: str | None = None) -> Any:
    """A default :class:`~tidal.guards.Guard` on the schema in ``schema_path`` (errors name the
    file and field), writing to the quarantine at ``quarantine`` if given. What ``compare
    --schema`` uses.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.json"
    >>> _ = p.write_text("{not json")
    >>> load_guard(p)
    Traceback (most recent call last):
    ...
    tidal.guards._schema.SchemaError: .../s.json: invalid JSON at line 1 column 2: ...
    """
    from tidal.guards import Guard, Quarantine, Schema

    schema = Schema.from_json(Path(schema_path))
    return Guard(schema, quarantine=None if quarantine is None else Quarantine(quarantine))


def guard_for_source(
    schema_path: str | os.PathLike, source: Any, data: str, quarantine: str | None = None
) -> Any:
    """The guard ``tidal compare --schema`` puts in front of the learners: the schema must name
    the source's target and exactly its features (a feature it leaves out is an error, not a
    column silently dropped). Rejected rows are kept in ``quarantine``, by default the
    quarantine ``tidal quarantine list`` reads (``.tidal/quarantine.sqlite``): none is lost.

    >>> import tempfile, pathlib, numpy as np
    >>> from tidal.guards import Schema
    >>> from tidal.stream import from_arrays
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.json"
    >>> _ = Schema.infer({"x0": [1.0, 2.0], "y": [0, 1]}, "y").to_json(p)
    >>> src = from_arrays(np.zeros((2, 1)), [0, 1])
    >>> guard = guard_for_source(p, src, "data.csv", quarantine=str(p.parent / "q.sqlite"))
    >>> guard.schema.names, guard.quarantine.path.endswith("q.sqlite")
    (['x0'], True)
    >>> _ = Schema.infer({"x0": [1.0, 2.0], "y": [0, 1]}).to_json(p)  # no --target
    >>> guard_for_source(p, src, "data.csv", quarantine=str(p.parent / "q.sqlite"))
    Traceback (most recent call last):
    ...
    tidal.guards._schema.SchemaError: .../s.json: no target: the data's label column is 'y'; ...
    """
    from tidal.guards import DEFAULT_PATH, SchemaError

    guard = load_guard(schema_path, DEFAULT_PATH if quarantine is None else quarantine)
    where = os.fspath(schema_path)
    names = [*source.feature_names, *([source.target] if source.target else [])]
    check_columns(guard.schema, names, where, data, special=False)
    if source.target and guard.schema.target is None:
        raise SchemaError(
            f"{where}: no target: the data's label column is {source.target!r}; infer the schema "
            f'with --target {source.target} (or add a "target" entry)'
        )
    skip = {guard.schema.id_column, guard.schema.timestamp_column}
    left = [c for c in source.feature_names if c not in guard.schema.names and c not in skip]
    if left:
        raise SchemaError(
            f"{where}: columns: no entry for {left} that {data} has; a guarded run must "
            f"check every feature it learns (add them, or re-infer the schema)"
        )
    return guard


def guard_lines(
    console: Console, summary: dict[str, Any], rows: list[dict[str, Any]] | None = None
) -> None:
    """What ``compare`` prints under the table about its guard: where the rejected rows are
    kept, the bursts caught (rows, learners rolled back), the rows each score leaves out."""
    n_q = summary.get("verdicts", {}).get("quarantined", 0)
    where = summary.get("quarantine")
    if where:
        opt = "" if where == _path(None) else f" --path {where}"
        console.print(
            f"{n_q:,} rejected rows kept in {where} (tidal quarantine list{opt})",
            highlight=False,
            soft_wrap=True,
        )
    for b in summary.get("bursts", ()):
        end = "still on at the end" if b.get("end") is None else f"ended at row {b['end']:,}"
        console.print(
            f"label burst from row {b['start']:,} (alarm at row {b['alarm']:,}, {end}): "
            f"{b['rolled_back']} learners rolled back"
            + ("" if b.get("restored_to") is None else f" to row {b['restored_to']:,}"),
            highlight=False,
            soft_wrap=True,
        )
    honest = [r for r in rows or () if "Accuracy_normal" in r and r.get("excluded_burst")]
    if honest:
        parts = [f"{r['learner']} {r['Accuracy_normal']:.4f}" for r in honest]
        console.print(
            f"Accuracy on the rows learned normally ({honest[0]['excluded_burst']:,} burst rows "
            f"and {honest[0]['excluded_quarantined']:,} quarantined left out): " + ", ".join(parts),
            highlight=False,
            soft_wrap=True,
        )


def _read(path: str, n_rows: int | None = None) -> Any:
    import pandas as pd

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    lower = path.lower()
    if lower.endswith((".parquet", ".pq")):
        df = pd.read_parquet(path)
        return df if n_rows is None else df.iloc[:n_rows]
    if lower.endswith((".jsonl", ".ndjson", ".jsonl.gz")):
        return pd.read_json(path, lines=True, nrows=n_rows)
    return pd.read_csv(path, nrows=n_rows)


def _open_quarantine(path: str) -> Any:
    from tidal.guards import Quarantine

    if not Path(path).is_file():
        raise FileNotFoundError(f"no quarantine at {path!r} (give --path)")
    return Quarantine(path)


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


PathOpt = Annotated[str | None, typer.Option("--path", help="the quarantine's SQLite file")]


def _path(path: str | None) -> str:
    from tidal.guards import DEFAULT_PATH

    return path or DEFAULT_PATH


# ------------------------------------------------------------------------------ schema
@schema_app.command("infer")
def schema_infer(
    path: Annotated[str, typer.Argument(help="CSV (optionally .gz), Parquet or JSONL file")],
    target: TargetOption = None,
    n_rows: Annotated[int, typer.Option("--n-rows", help="infer from the first N rows")] = 10_000,
    id_column: Annotated[str | None, typer.Option(help="event id column")] = None,
    time_column: Annotated[str | None, typer.Option(help="timestamp column")] = None,
    categorical: Annotated[
        str | None, typer.Option(help="comma-separated columns to treat as categories")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write here, not stdout")] = None,
) -> None:
    """Infer a schema from the first rows of a file; print it as editable JSON."""
    from tidal.guards import infer_schema_from_path

    if n_rows < 1:
        raise fail(f"--n-rows {n_rows}: must be >= 1")
    try:
        schema = infer_schema_from_path(
            path,
            target,
            n_rows=n_rows,
            id_column=id_column,
            timestamp_column=time_column,
            categorical=_names(categorical),
        )
    except _BAD_INPUT as err:
        msg = _message(err)
        raise fail(msg if msg.startswith(path) else f"{path}: {msg}") from None
    text = schema.to_json(out)
    if out is None:
        typer.echo(text, nl=False)
    else:
        Console(stderr=True).print(f"schema written to {out}", highlight=False)


@schema_app.command("check")
def schema_check(
    path: Annotated[str, typer.Argument(help="CSV (optionally .gz), Parquet or JSONL file")],
    schema: Annotated[Path, typer.Option("--schema", "-s", help="schema JSON file")],
    quarantine: Annotated[
        str | None, typer.Option("--quarantine", help="also store rejected rows in this file")
    ] = None,
    source: Annotated[str, typer.Option(help="source name recorded with the rows")] = "cli",
    as_json: Annotated[bool, typer.Option("--json", help="print the counters as JSON")] = False,
) -> None:
    """Run the default guards over a file: rows per verdict and hits per rule."""
    try:
        guard = load_guard(schema, quarantine)
        df = _read(path)
        check_columns(guard.schema, df.columns, str(schema), path)
        res = guard.check(df, source=source)
    except _BAD_INPUT as err:
        raise fail(_message(err)) from None
    counts = dict(zip(("passed", "repaired", "quarantined", "flagged"), _bincount(res.verdict)))
    summary = {"rows": len(res), "verdicts": counts, "rules": dict(res.counters)}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    table = Table(title=f"{path}: {len(res):,} rows checked against {schema}")
    table.add_column("rule")
    table.add_column("hits", justify="right")
    for rule, hits in res.counters.items():
        table.add_row(rule, f"{hits:,}")
    console = Console()
    console.print(table)
    console.print(", ".join(f"{k}: {v:,}" for k, v in counts.items()), highlight=False)


def _bincount(verdict: Any) -> list[int]:
    import numpy as np

    return [int(v) for v in np.bincount(verdict, minlength=4)]


# ------------------------------------------------------------------------------ quarantine
@quarantine_app.command("list")
def quarantine_list(
    path: PathOpt = None,
    status: Annotated[str | None, typer.Option(help="quarantined or replayed")] = None,
    source: Annotated[str | None, typer.Option(help="only rows from this source")] = None,
    rule: Annotated[str | None, typer.Option(help="only rows this rule rejected")] = None,
    limit: Annotated[int | None, typer.Option(help="at most N rows (oldest first)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """The rejected rows, oldest first (without their records: see ``show``)."""
    try:
        q = _open_quarantine(_path(path))
        rows = q.list(status=status, source=source, rule=rule, limit=limit)
    except _BAD_INPUT as err:
        raise fail(_message(err)) from None
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r))
        return
    table = Table(title=f"{q.path}: {len(rows):,} rows")
    for col in ("id", "time (UTC)", "source", "rule", "row", "status", "reason"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["id"]),
            _when(r["time"]),
            r["source"],
            r["rule"],
            "-" if r["row"] is None else str(r["row"]),
            r["status"],
            r["reason"],
        )
    Console(width=160).print(table)


@quarantine_app.command("show")
def quarantine_show(
    row_id: Annotated[int, typer.Argument(metavar="ID", help="the row's id (see list)")],
    path: PathOpt = None,
) -> None:
    """One rejected row with its original record, as JSON."""
    try:
        row = _open_quarantine(_path(path)).show(row_id)
    except _BAD_INPUT as err:
        raise fail(_message(err)) from None
    typer.echo(json.dumps(row, indent=2))


@quarantine_app.command("replay")
def quarantine_replay(
    schema: Annotated[Path, typer.Option("--schema", "-s", help="schema JSON file")],
    path: PathOpt = None,
    limit: Annotated[int | None, typer.Option(help="replay at most N rows (oldest first)")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="write the rows that now pass (CSV)")
    ] = None,
    into: Annotated[
        Path | None,
        typer.Option(
            "--into", help="a model state file (tidal.base.save_state): learn the rows, save it"
        ),
    ] = None,
) -> None:
    """Send the quarantined rows back through the guards (e.g. after editing the schema or
    fixing rows). Rows a learner can take are marked replayed, once (written to --out, learned
    by the model in --into); the others stay quarantined with today's reason."""
    try:
        guard = load_guard(schema)
        q = _open_quarantine(_path(path))
        model = None
        if into is not None:
            from tidal.base import learner_from_state, read_state

            model = learner_from_state(read_state(into))
        pending = q.list(status="quarantined", limit=limit)
        if pending:
            record = q.show(pending[0]["id"])["record"]
            check_columns(guard.schema, record, str(schema), "the quarantined records")
        replayed = q.replay(guard, limit=limit)
    except _BAD_INPUT as err:
        raise fail(_message(err)) from None
    left = len(pending) - len(replayed.ids)
    res = replayed.result
    if out is not None and res is not None:
        import pandas as pd

        pd.DataFrame.from_records(res.records(res.learn)).to_csv(out, index=False)
    if model is not None and replayed.ids:
        from tidal.base import save_state

        block = replayed.block()
        model.learn_many(block, block.y)
        save_state(model.state_dict(), into)
        typer.echo(f"{into}: learned {len(block)} replayed rows")
    typer.echo(f"replayed {len(replayed.ids)} rows, {left} still quarantined")
    if replayed.ids:
        typer.echo("ids: " + ", ".join(str(i) for i in replayed.ids))


@quarantine_app.command("fix")
def quarantine_fix(
    row_id: Annotated[
        int | None, typer.Argument(metavar="[ID]", help="the row to fix (with --set)")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="COLUMN=VALUE (JSON value or text)")
    ] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="corrected rows: an 'id' column and the fields to replace"),
    ] = None,
    patch: Annotated[
        Path | None, typer.Option("--patch", help='JSON: {"ID": {"column": value, ...}, ...}')
    ] = None,
    path: PathOpt = None,
) -> None:
    """Correct quarantined records (then ``replay`` sends them through the guards again)."""
    try:
        changes = _fixes(row_id, set_, csv_file, patch)
        q = _open_quarantine(_path(path))
        for rid, fields in changes.items():
            q.fix(rid, fields)
    except _BAD_INPUT as err:
        raise fail(_message(err)) from None
    typer.echo(f"fixed {len(changes)} rows: {', '.join(str(i) for i in changes)}")


def _fixes(
    row_id: int | None, sets: list[str] | None, csv_file: Path | None, patch: Path | None
) -> dict[int, dict[str, Any]]:
    """``{id: {column: value}}`` from exactly one of: ID --set, --csv, --patch."""
    given = [x for x in ((sets or None), csv_file, patch) if x is not None]
    if len(given) != 1:
        raise ValueError("fix: give ID with --set COLUMN=VALUE, or --csv FILE, or --patch FILE")
    if sets:
        if row_id is None:
            raise ValueError("fix: --set needs the row's ID")
        out: dict[str, Any] = {}
        for item in sets:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ValueError(f"--set {item!r}: expected COLUMN=VALUE")
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                out[key] = value
        return {row_id: out}
    if csv_file is not None:
        import pandas as pd

        df = _read(str(csv_file))
        if "id" not in df.columns:
            raise ValueError(f"{csv_file}: no 'id' column (columns: {list(df.columns)})")
        rows = json.loads(df.to_json(orient="records"))
        return {int(r.pop("id")): r for r in rows if not pd.isna(r.get("id"))}
    try:
        data = json.loads(Path(patch).read_text())  # type: ignore[arg-type]
    except json.JSONDecodeError as err:
        raise ValueError(f"{patch}: invalid JSON: {err}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f'{patch}: expected {{"ID": {{"column": value}}}}')
    try:
        return {int(k): v for k, v in data.items()}
    except ValueError:
        raise ValueError(f"{patch}: keys must be row ids (integers)") from None


@quarantine_app.command("purge")
def quarantine_purge(
    path: PathOpt = None,
    older_than: Annotated[
        float | None, typer.Option(help="delete rows older than this many seconds")
    ] = None,
    keep_last: Annotated[int | None, typer.Option(help="keep only the newest N rows")] = None,
    status: Annotated[str | None, typer.Option(help="only rows with this status")] = None,
) -> None:
    """Delete old rows: older than --older-than seconds and/or all but the --keep-last newest."""
    if older_than is None and keep_last is None:
        raise fail("purge: give --older-than SECONDS and/or --keep-last N")
    try:
        n = _open_quarantine(_path(path)).purge(
            older_than=older_than, keep_last=keep_last, status=status
        )
    except _BAD_INPUT as err:
        raise fail(_message(err)) from None
    typer.echo(f"purged {n} rows")
