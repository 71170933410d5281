// The samples table's pure logic: which rows have a server-drawn preview, the preview URL,
// how the compare route names an evaluation, and paging the changed samples of /diff.
import type { Evaluation } from "../api";
import { versionOf } from "./query";

const IMAGE = /\.(png|jpe?g|gif|webp|bmp|tiff?)$/i;

/** The key the preview route finds a row by: the row's id when its image file is known
 * (detection rows: `file`), else an id that is itself an image path; null for no picture. */
export function previewKey(row: Record<string, unknown>): string | null {
  if (typeof row.file === "string" && IMAGE.test(row.file) && row.id != null) return String(row.id);
  if (typeof row.id === "string" && IMAGE.test(row.id)) return row.id;
  return null;
}

/** The server-drawn picture of a sample (boxes, mask or label → prediction over the image). */
export function previewUrl(evaluationId: string, key: string, size: number, minScore?: number): string {
  const score = minScore !== undefined ? `&min_score=${minScore}` : "";
  return `/api/v1/evaluations/${encodeURIComponent(evaluationId)}/samples/${encodeURIComponent(key)}/preview.png?size=${size}${score}`;
}

/** How the compare route names an evaluation: a job's as JOB:VERSION (so the job's pin is
 * found), any other by id (its model's pin). */
export function compareRef(ev: Pick<Evaluation, "id" | "source">): string {
  return versionOf(ev.source) ? ev.source : ev.id;
}

/** A finite number metric to ask the compare route about (it needs one in common). */
export function firstMetric(ev: Pick<Evaluation, "results">): string | null {
  const m = Object.entries(ev.results?.metric ?? {}).find(([, v]) => typeof v === "number" && Number.isFinite(v));
  return m ? m[0] : null;
}

export const DIFF_MAX = 10_000; // the diff route answers at most this many changed samples

export interface DiffPage {
  column: string;
  fixed: number;
  regressed: number;
  rows: Record<string, unknown>[];
}

/** The diff route has a limit but no offset: ask for the first offset + page rows. */
export function diffLimit(offset: number, page: number): number {
  return Math.min(offset + page, DIFF_MAX);
}

/** One page of changed samples from a diff answer: rows after `offset` (each with `id`, the
 * sample, so previews find it), the columns, and how many there are in all (at most DIFF_MAX). */
export function diffPage(
  d: DiffPage,
  only: "regressed" | "fixed",
  offset: number,
): { rows: Record<string, unknown>[]; columns: string[]; total: number } {
  return {
    rows: d.rows.slice(offset).map((r) => ({ id: r.sample, ...r })),
    columns: d.rows.length ? Object.keys(d.rows[0]) : ["sample", "change"],
    total: Math.min(d[only], DIFF_MAX),
  };
}
