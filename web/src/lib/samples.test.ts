import { describe, expect, it } from "vitest";
import { DIFF_MAX, compareRef, diffLimit, diffPage, firstMetric, previewKey, previewUrl } from "./samples";

describe("previewKey", () => {
  it("uses the id of rows whose file is an image (detection), or an image id", () => {
    expect(previewKey({ id: 7, file: "images/007.PNG" })).toBe("7");
    expect(previewKey({ id: "a/b.jpg", label: "cat" })).toBe("a/b.jpg");
    expect(previewKey({ id: "turn-1", prompt: "hi" })).toBeNull();
    expect(previewKey({ id: 3 })).toBeNull();
    expect(previewKey({ file: "x.png" })).toBeNull();
  });
});

describe("previewUrl", () => {
  it("encodes the key as one path segment and adds the size and score", () => {
    expect(previewUrl("e1", "a/b c.png", 128)).toBe("/api/v1/evaluations/e1/samples/a%2Fb%20c.png/preview.png?size=128");
    expect(previewUrl("e1", "7", 384, 0.25)).toBe("/api/v1/evaluations/e1/samples/7/preview.png?size=384&min_score=0.25");
  });
});

describe("compareRef and firstMetric", () => {
  it("names job evaluations by version, others by id", () => {
    expect(compareRef({ id: "abc", source: "cmp:V0002" })).toBe("cmp:V0002");
    expect(compareRef({ id: "abc", source: "sdk" })).toBe("abc");
  });
  it("picks a finite number metric", () => {
    expect(firstMetric({ results: { metric: { per_class: {}, note: "x", accuracy: 0.9 } } })).toBe("accuracy");
    expect(firstMetric({ results: { metric: { ok: true } } })).toBeNull();
  });
});

describe("diff paging", () => {
  const d = {
    column: "correct",
    fixed: 1,
    regressed: 60,
    rows: Array.from({ length: 60 }, (_, i) => ({ sample: `s${i}`, change: "regressed" })),
  };
  it("asks for offset + page rows, never past the route's maximum", () => {
    expect(diffLimit(0, 50)).toBe(50);
    expect(diffLimit(50, 50)).toBe(100);
    expect(diffLimit(DIFF_MAX, 50)).toBe(DIFF_MAX);
  });
  it("shows the rows after the offset with the sample as id", () => {
    const p = diffPage(d, "regressed", 50);
    expect(p.rows.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `s${50 + i}`));
    expect(p.columns).toEqual(["sample", "change"]);
    expect(p.total).toBe(60);
    expect(diffPage({ ...d, rows: [] }, "fixed", 0)).toEqual({ rows: [], columns: ["sample", "change"], total: 1 });
  });
});
