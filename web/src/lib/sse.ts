// Server-sent events read from a fetch() body (EventSource cannot send the Authorization
// header): text in, whole events out, as the HTML standard's parser splits them.

export interface SseEvent {
  event: string; // "message" unless the server named one
  data: string;
  id: string | null;
}

export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private id: string | null = null;

  /** Feed decoded text; returns the events it completed (comments are dropped). */
  feed(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone "\r" at the very end may be the first half of "\r\n": wait for more.
      if (m[0] === "\r" && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line, out);
    }
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.data.length) out.push({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
      this.data = [];
      this.event = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.id = value;
  }
}

/** A log chunk as the stream and the logs route send it. */
export interface LogChunk {
  data: string;
  nextOffset: number;
}

export function logChunk(e: SseEvent): LogChunk | null {
  try {
    const c = JSON.parse(e.data) as Partial<LogChunk>;
    if (typeof c.data === "string" && typeof c.nextOffset === "number") return { data: c.data, nextOffset: c.nextOffset };
  } catch {
    // not a chunk
  }
  return null;
}
