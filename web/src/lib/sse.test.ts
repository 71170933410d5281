import { describe, expect, it } from "vitest";
import { SseParser, logChunk } from "./sse";

describe("SseParser", () => {
  it("splits events across arbitrary chunk boundaries", () => {
    const p = new SseParser();
    const text = 'retry: 2000\n\nid: 7\ndata: {"data": "line 0\\n", "nextOffset": 7}\n\n: keep-alive\n\nevent: end\nid: 7\ndata: {"data": "", "nextOffset": 7}\n\n';
    const events = [];
    for (let i = 0; i < text.length; i += 3) events.push(...p.feed(text.slice(i, i + 3)));
    expect(events).toEqual([
      { event: "message", id: "7", data: '{"data": "line 0\\n", "nextOffset": 7}' },
      { event: "end", id: "7", data: '{"data": "", "nextOffset": 7}' },
    ]);
    expect(logChunk(events[0])).toEqual({ data: "line 0\n", nextOffset: 7 });
  });
  it("handles CRLF (also split between feeds), multi-line data and fields without a space", () => {
    const p = new SseParser();
    expect(p.feed("data:a\r")).toEqual([]);
    expect(p.feed("\ndata: b\r\n\r\n")).toEqual([{ event: "message", id: null, data: "a\nb" }]);
  });
  it("ignores comments and events without data; rejects malformed chunks", () => {
    const p = new SseParser();
    expect(p.feed(": ping\n\nevent: x\n\n")).toEqual([]);
    expect(logChunk({ event: "message", id: null, data: "not json" })).toBeNull();
    expect(logChunk({ event: "message", id: null, data: '{"data": 1}' })).toBeNull();
  });
});
