import { describe, expect, it } from "vitest";
import {
  deltaDirection,
  formatBytes,
  formatDelta,
  formatDuration,
  formatMetric,
  isActive,
  scalarMetrics,
  significance,
} from "./format";
import { errorFromBody, fieldErrors } from "./errors";

describe("formatMetric", () => {
  it("formats by magnitude", () => {
    expect(formatMetric(0.912345)).toBe("0.9123");
    expect(formatMetric(1)).toBe("1");
    expect(formatMetric(12345)).toBe("12,345");
    expect(formatMetric(1.5)).toBe("1.5");
    expect(formatMetric(2.123456)).toBe("2.1235");
    expect(formatMetric(12345.678)).toBe("12,345.7");
    expect(formatMetric(0.00001234)).toBe("1.23e-5");
    expect(formatMetric(0)).toBe("0");
  });
  it("shows missing, non-finite and structured values plainly", () => {
    expect(formatMetric(null)).toBe("—");
    expect(formatMetric(undefined)).toBe("—");
    expect(formatMetric(Number.NaN)).toBe("—");
    expect(formatMetric([1, 2])).toBe("[2 values]");
    expect(formatMetric({ a: 1 })).toBe("{…}");
    expect(formatMetric(true)).toBe("true");
  });
  it("keeps scalar metrics only", () => {
    expect(scalarMetrics({ accuracy: 0.5, confusion_matrix: [[1]], per_class: {}, n: 3, ok: true })).toEqual([
      ["accuracy", 0.5],
      ["n", 3],
    ]);
  });
});

describe("deltas", () => {
  it("colours by direction", () => {
    expect(deltaDirection(0.1)).toBe("better");
    expect(deltaDirection(-0.1)).toBe("worse");
    expect(deltaDirection(0.1, true)).toBe("worse");
    expect(deltaDirection(-0.1, true)).toBe("better");
    expect(deltaDirection(0)).toBe("same");
  });
  it("signs", () => {
    expect(formatDelta(0.05)).toBe("+0.0500");
    expect(formatDelta(-0.05)).toBe("−0.0500");
    expect(formatDelta(0)).toBe("±0");
  });
  it("marks significance", () => {
    expect(significance(0.0001)).toBe("***");
    expect(significance(0.004)).toBe("**");
    expect(significance(0.04)).toBe("*");
    expect(significance(0.2)).toBe("");
    expect(significance(null)).toBe("");
  });
});

describe("other formats", () => {
  it("bytes, durations, states", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatDuration("2026-01-01T00:00:00Z", "2026-01-01T00:01:05Z")).toBe("1m 5s");
    expect(formatDuration(null, null)).toBe("—");
    expect(isActive("Queuing")).toBe(true);
    expect(isActive("Completed")).toBe(false);
  });
});

describe("API errors", () => {
  it("reads the JSON error body", () => {
    const e = errorFromBody(404, { error: { type: "NotFound", message: "no job 'x'", details: {} } });
    expect(e.message).toBe("no job 'x'");
    expect(e.type).toBe("NotFound");
    expect(errorFromBody(502, "<html>bad gateway</html>").message).toBe("HTTP 502: <html>bad gateway</html>");
  });
  it("puts validation errors next to their fields", () => {
    const f = fieldErrors("invalid request: timeout: Input should be greater than or equal to 1; modelPath: bad", [
      "name",
      "timeout",
      "model_path",
    ]);
    expect(f).toEqual({ timeout: "Input should be greater than or equal to 1", model_path: "bad" });
  });
  it("matches service messages by words, else the form", () => {
    expect(fieldErrors("invalid job name 'a b': use letters", ["name", "model"])).toEqual({
      name: "invalid job name 'a b': use letters",
    });
    expect(fieldErrors("something else broke", ["name"])).toEqual({ _form: "something else broke" });
  });
});

describe("parameter errors", () => {
  it("go to the parameter's own field when the form has one", () => {
    expect(fieldErrors("parameter scoring: unknown x", ["params", "params.scoring"])).toEqual({
      "params.scoring": "parameter scoring: unknown x",
    });
    expect(fieldErrors("parameter 'a b' is bad", ["params"])).toEqual({ params: "parameter 'a b' is bad" });
  });
});
