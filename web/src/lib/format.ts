// How numbers, metrics, deltas, sizes and times read in the console.

export function isNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** A metric value: integers with separators, fractions to 4 decimals, large values to 4
 * significant digits; non-finite and missing values as a dash. */
export function formatMetric(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "string") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return "—";
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    const abs = Math.abs(v);
    if (abs >= 1000) return v.toLocaleString("en-US", { maximumFractionDigits: 1 });
    if (abs >= 1) return v.toFixed(4).replace(/\.?0+$/, "");
    if (abs > 0 && abs < 0.0001) return v.toExponential(2);
    return v.toFixed(4);
  }
  if (Array.isArray(v)) return `[${v.length} values]`;
  return "{…}";
}

/** Scalar metrics of an evaluation (numbers only; matrices and per-class tables left out). */
export function scalarMetrics(metrics: Record<string, unknown> | null | undefined): [string, number][] {
  if (!metrics) return [];
  return Object.entries(metrics).filter((e): e is [string, number] => isNumber(e[1]) && typeof e[1] !== "boolean");
}

export type Direction = "better" | "worse" | "same";

/** Which way a delta goes for a metric, given whether lower is better. */
export function deltaDirection(delta: number, lowerIsBetter = false, eps = 1e-12): Direction {
  if (!isNumber(delta) || Math.abs(delta) <= eps) return "same";
  return (delta > 0) !== lowerIsBetter ? "better" : "worse";
}

/** "+0.0123" / "−0.0500" / "±0": a signed delta in the metric's format. */
export function formatDelta(delta: number): string {
  if (!isNumber(delta)) return "—";
  if (Math.abs(delta) <= 1e-12) return "±0";
  const body = formatMetric(Math.abs(delta));
  return `${delta > 0 ? "+" : "−"}${body}`;
}

/** Significance marks for a p-value: *** < 0.001, ** < 0.01, * < 0.05. */
export function significance(p: number | null | undefined): string {
  if (!isNumber(p)) return "";
  if (p < 0.001) return "***";
  if (p < 0.01) return "**";
  if (p < 0.05) return "*";
  return "";
}

export function formatBytes(n: number | null | undefined): string {
  if (!isNumber(n)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function formatDuration(start: string | null | undefined, end: string | null | undefined): string {
  if (!start) return "—";
  const ms = (end ? new Date(end) : new Date()).getTime() - new Date(start).getTime();
  if (!Number.isFinite(ms) || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export const FINAL_STATES = ["Completed", "Failed", "Terminated", "TimedOut"];
export const ACTIVE_STATES = ["Creating", "Queuing", "Running"];

export function isActive(state: string | null | undefined): boolean {
  return !!state && ACTIVE_STATES.includes(state);
}

export function stateColor(state: string): string {
  switch (state) {
    case "Completed":
      return "green";
    case "Running":
      return "blue";
    case "Queuing":
    case "Creating":
      return "yellow";
    case "Failed":
    case "TimedOut":
      return "red";
    case "Terminated":
      return "gray";
    default:
      return "gray";
  }
}
