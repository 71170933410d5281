// Errors from the API as people read them, and which form field each belongs to.

export class ApiError extends Error {
  status: number;
  type: string;
  details: Record<string, unknown>;

  constructor(status: number, type: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.details = details;
  }
}

/** The JSON error body `{"error": {"type", "message", "details"}}`, or a readable stand-in. */
export function errorFromBody(status: number, body: unknown, statusText = ""): ApiError {
  const err = (body as { error?: { type?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (err && typeof err.message === "string") {
    return new ApiError(
      status,
      typeof err.type === "string" ? err.type : "Error",
      err.message,
      (err.details as Record<string, unknown>) ?? {},
    );
  }
  const text = typeof body === "string" && body.trim() ? body.trim().slice(0, 300) : statusText || "request failed";
  return new ApiError(status, "Error", `HTTP ${status}: ${text}`);
}

export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Hints that tie a service's message to a field when it names no location. */
const HINTS: [RegExp, string][] = [
  [/\bjob name\b|\bjob '[^']*' already exists|^job .* already exists/i, "name"],
  [/\bevaluation type\b/i, "type"],
  [/\bdescription\b/i, "description"],
  [/\blaunch\b/i, "launch"],
  [/\bparameter\b|\bparam(s)?\b/i, "params"],
  [/\bpool\b/i, "pool"],
  [/\bendpoint\b/i, "endpoint"],
  [/\btimeout\b/i, "timeout"],
  [/\bmemory\b/i, "memory"],
  [/\bcode\b/i, "code"],
  [/\bdataset\b|\bdata[_ ]path\b/i, "dataset"],
  [/\bmodel\b|\bmodel[_ ]path\b/i, "model"],
];

/** Field -> message for a failed form submit. Request validation errors name their fields
 * ("invalid request: timeout: Input should be ..."); service errors are matched by words.
 * Messages that fit no field come back under "_form". */
export function fieldErrors(message: string, fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const known = new Map(fields.map((f) => [camel(f).toLowerCase(), f]));
  const prefix = "invalid request: ";
  if (message.startsWith(prefix)) {
    for (const part of message.slice(prefix.length).split("; ")) {
      const at = part.indexOf(": ");
      const loc = at > 0 ? part.slice(0, at) : "";
      const field = known.get(camel(loc.split(".")[0] ?? "").toLowerCase());
      if (field) out[field] = (out[field] ? out[field] + "; " : "") + part.slice(at + 2);
      else out._form = (out._form ? out._form + "; " : "") + part;
    }
    return out;
  }
  const param = /\bparameter '?([A-Za-z_][\w-]*)/.exec(message);
  if (param && fields.includes(`params.${param[1]}`)) return { [`params.${param[1]}`]: message };
  for (const [pattern, field] of HINTS) {
    if (fields.includes(field) && pattern.test(message)) {
      out[field] = message;
      return out;
    }
  }
  out._form = message;
  return out;
}
