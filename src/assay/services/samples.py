"""Per-sample rows of an evaluation, filtered and sorted by DuckDB on the server.

``where`` and ``order_by`` are SQL expressions over the rows' columns, so DuckDB runs them in
a connection that cannot touch files or the network (``enable_external_access = false``,
configuration locked) and sees one table, ``samples``, built from the stored Parquet or JSONL.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

from assay.core.errors import InvalidInput, NotFound
from assay.services import evaluations
from assay.services.context import Ctx

MAX_EXPRESSION = 1000
QUERY_SECONDS = 10.0
QUERY_MEMORY = "512MB"
_FORBIDDEN = (";", "--", "/*")


def _check(expr: str | None, what: str) -> str | None:
    if expr is None or not expr.strip():
        return None
    if len(expr) > MAX_EXPRESSION or any(bad in expr for bad in _FORBIDDEN):
        raise InvalidInput(
            f"{what} must be one SQL expression of at most {MAX_EXPRESSION} "
            "characters, without ';' or comments"
        )
    return expr


def read_table(ctx: Ctx, sha256: str) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with ctx.store.open(sha256) as f:
        head = f.read(4)
        f.seek(0)
        if head == b"PAR1":
            return pq.read_table(f)
        rows = [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]
        return pa.Table.from_pylist(rows)


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def query(
    ctx: Ctx,
    evaluation_id: str,
    *,
    where: str | None,
    order_by: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa

    ev = evaluations.get(ctx, evaluation_id)
    if ev.samples_sha256 is None:
        raise NotFound(f"evaluation {evaluation_id} has no per-sample rows")
    where, order_by = _check(where, "--where"), _check(order_by, "--order-by")
    table = read_table(ctx, ev.samples_sha256)
    con = duckdb.connect(":memory:")
    # A user's expression may be arbitrarily expensive: one thread, bounded memory, and an
    # interrupt when it runs too long.
    timer = threading.Timer(QUERY_SECONDS, con.interrupt)
    try:
        con.register("samples", table)
        con.execute("SET enable_external_access = false")
        con.execute("SET threads = 1")
        con.execute(f"SET memory_limit = '{QUERY_MEMORY}'")
        con.execute("SET lock_configuration = true")
        timer.start()
        filt = f" WHERE {where}" if where else ""
        order = f" ORDER BY {order_by}" if order_by else ""
        total = con.execute(f"SELECT count(*) FROM samples{filt}").fetchone()
        # Binary columns (a segmentation's predicted masks as PNG) are for the preview
        # route, not for listing: they are filterable but never returned here.
        binary = [
            f'"{f.name}"'
            for f in table.schema
            if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
        ]
        shown = f"* EXCLUDE ({', '.join(binary)})" if binary else "*"
        cur = con.execute(
            f"SELECT {shown} FROM samples{filt}{order} LIMIT ? OFFSET ?", [limit, offset]
        )
        names = [d[0] for d in cur.description or []]
        rows = [{k: _clean(v) for k, v in zip(names, row, strict=True)} for row in cur.fetchall()]
    except duckdb.InterruptException:
        raise InvalidInput(
            f"the samples query ran longer than {QUERY_SECONDS} s and was "
            "stopped; simplify --where / --order-by"
        ) from None
    except duckdb.Error as exc:
        raise InvalidInput(f"cannot filter the samples: {str(exc).splitlines()[0]}") from None
    finally:
        timer.cancel()
        con.close()
    return {
        "total": int(total[0]) if total else 0,
        "columns": names,
        "rows": rows,
        "offset": offset,
        "limit": limit,
    }
