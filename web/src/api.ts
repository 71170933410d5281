// The REST client: the same /api/v1 routes the CLI and SDK call.
import { ApiError, errorFromBody } from "./lib/errors";

const KEY = "assay.apiKey";

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  key?: string | null; // override the stored key (login)
}

let onUnauthenticated: (() => void) | null = null;
export function setUnauthenticatedHandler(fn: (() => void) | null): void {
  onUnauthenticated = fn;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const key = opts.key !== undefined ? opts.key : storedKey();
  const headers: Record<string, string> = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method: opts.method ?? "GET",
      headers,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    });
  } catch (e) {
    throw new ApiError(0, "ConnectionFailed", `cannot reach the Assay server: ${(e as Error).message}`);
  }
  const text = await res.text();
  let data: unknown = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the message
  }
  if (!res.ok) {
    const err = errorFromBody(res.status, data, res.statusText);
    if (res.status === 401 && opts.key === undefined && onUnauthenticated) onUnauthenticated();
    throw err;
  }
  return data as T;
}

export const enc = encodeURIComponent;

// Shapes of the responses the console reads.
export interface Evaluation {
  id: string;
  modelID: string | null;
  modelRef: string | null;
  modelCommit: string | null;
  modelBranch: string | null;
  endpoint: string | null;
  datasetID: string;
  datasetRef: string;
  datasetCommit: string;
  results: { metric: Record<string, unknown> };
  source: string;
  state: string;
  stale: string | null;
  partial: boolean;
  samples: number;
  artifacts: { name: string; size: number }[];
  creator: string | null;
  startTime: string;
}

export interface Version {
  job: string;
  name: string;
  id: string;
  type: string;
  state: string;
  message: string;
  queuePosition: number | null;
  metrics: Record<string, unknown> | null;
  partial: boolean;
  evaluationId: string | null;
  model: string | null;
  modelPath: string | null;
  modelCommit: string | null;
  dataset: string | null;
  datasetCommit: string | null;
  dataPath: string | null;
  code: string | null;
  codeCommit: string | null;
  launch: string | null;
  endpoint: string | null;
  estimate: Record<string, unknown> | null;
  params: Record<string, unknown>;
  pool: string | null;
  cpu: number;
  memory: number;
  gpu: number;
  priority: number;
  timeout: number;
  debug: boolean;
  createdAt: string | null;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  usage: { cpuSeconds: number; gpuSeconds: number; peakMemory: number };
}

export interface JobRow {
  name: string;
  description: string;
  type: string;
  createdAt: string;
  latest: Version | null;
}

export interface Task {
  index: number;
  state: string;
  attempts: number;
  maxAttempts: number;
  pid: number | null;
  host: string | null;
  exitCode: number | null;
  message: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Pool {
  name: string;
  backend: string;
  cpu: number;
  memory: number;
  gpu: number;
  cpuUsed: number;
  memoryUsed: number;
  gpuUsed: number;
  running: number;
  queued: number;
}

export interface SamplesPage {
  total: number;
  columns: string[];
  rows: Record<string, unknown>[];
  offset: number;
  limit: number;
}

export interface Me {
  name: string;
  isAdmin: boolean;
  createdAt: string;
}
