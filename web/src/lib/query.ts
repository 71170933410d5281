// Turning the console's filters into the REST API's query strings (and back, for the URL).

export interface EvalFilters {
  model: string;
  dataset: string;
  job: string;
  state: string;
  creator: string;
  metric: string; // conditions separated by commas, e.g. "accuracy>0.9, f1_macro>=0.8"
}

export const EMPTY_FILTERS: EvalFilters = {
  model: "",
  dataset: "",
  job: "",
  state: "",
  creator: "",
  metric: "",
};

const KEYS = ["model", "dataset", "job", "state", "creator"] as const;

/** Metric conditions typed by a person: split on commas/semicolons, blanks dropped. */
export function metricConditions(text: string): string[] {
  return text
    .split(/[,;]/)
    .map((s) => s.replace(/\s+/g, ""))
    .filter((s) => s.length > 0);
}

/** Query string for GET /api/v1/evaluations (empty filters left out, metric repeated). */
export function evaluationsQuery(
  filters: EvalFilters,
  opts: { cursor?: string | null; limit?: number } = {},
): string {
  const q = new URLSearchParams();
  for (const key of KEYS) {
    const value = filters[key].trim();
    if (value) q.set(key, value);
  }
  for (const cond of metricConditions(filters.metric)) q.append("metric", cond);
  if (opts.limit) q.set("limit", String(opts.limit));
  if (opts.cursor) q.set("cursor", opts.cursor);
  return q.toString();
}

/** The filters a page URL carries (?model=...&metric=...), unknown keys ignored. */
export function filtersFromSearch(search: string): EvalFilters {
  const q = new URLSearchParams(search);
  const out: EvalFilters = { ...EMPTY_FILTERS };
  for (const key of KEYS) out[key] = q.get(key) ?? "";
  out.metric = q.getAll("metric").join(", ");
  return out;
}

/** The cursor that continues a newest-first page after its last row. */
export function nextCursor(rows: { startTime: string; id: string }[], limit: number): string | null {
  if (rows.length < limit || rows.length === 0) return null;
  const last = rows[rows.length - 1];
  return `${last.startTime}|${last.id}`;
}

function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface SampleFilter {
  onlyWrong: boolean;
  column: string; // equality filter on one column (optional)
  value: string;
  where: string; // a free SQL condition typed by the user (optional)
}

export const EMPTY_SAMPLE_FILTER: SampleFilter = { onlyWrong: false, column: "", value: "", where: "" };

/** The `where` expression for GET /evaluations/{id}/samples; null when nothing filters. */
export function samplesWhere(f: SampleFilter, columns: string[]): string | null {
  const parts: string[] = [];
  if (f.onlyWrong && columns.includes("correct")) parts.push("correct = false");
  if (f.column && f.value !== "" && columns.includes(f.column)) {
    const numeric = /^-?\d+(\.\d+)?$/.test(f.value);
    parts.push(`CAST(${sqlIdent(f.column)} AS VARCHAR) = ${sqlString(numeric ? String(Number(f.value)) : f.value)}`);
  }
  if (f.where.trim()) parts.push(`(${f.where.trim()})`);
  return parts.length ? parts.join(" AND ") : null;
}

/** Query string for the samples route: one page, sorted on the server. */
export function samplesQuery(
  f: SampleFilter,
  columns: string[],
  page: { offset: number; limit: number; orderBy?: string | null },
): string {
  const q = new URLSearchParams();
  const where = samplesWhere(f, columns);
  if (where) q.set("where", where);
  if (page.orderBy) q.set("order_by", page.orderBy);
  q.set("limit", String(page.limit));
  q.set("offset", String(page.offset));
  return q.toString();
}

/** A sort state of TanStack Table as an ORDER BY for the server. */
export function orderBy(sort: { id: string; desc: boolean }[]): string | null {
  if (!sort.length) return null;
  return sort.map((s) => `${sqlIdent(s.id)} ${s.desc ? "DESC" : "ASC"}`).join(", ");
}

/** "job:V0001" when an evaluation was made by a job's version, else null. */
export function versionOf(source: string): { job: string; version: string } | null {
  const m = /^(.+):(V\d{4,})$/.exec(source);
  return m ? { job: m[1], version: m[2] } : null;
}
