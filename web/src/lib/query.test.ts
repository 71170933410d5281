import { describe, expect, it } from "vitest";
import {
  EMPTY_FILTERS,
  EMPTY_SAMPLE_FILTER,
  evaluationsQuery,
  filtersFromSearch,
  metricConditions,
  nextCursor,
  orderBy,
  samplesQuery,
  samplesWhere,
  versionOf,
} from "./query";

describe("evaluationsQuery", () => {
  it("leaves out empty filters", () => {
    expect(evaluationsQuery(EMPTY_FILTERS)).toBe("");
    expect(evaluationsQuery({ ...EMPTY_FILTERS, job: "  " })).toBe("");
  });
  it("sets filters, repeats metric conditions, adds paging", () => {
    const q = new URLSearchParams(
      evaluationsQuery(
        { ...EMPTY_FILTERS, model: "digits/logreg:main", state: "Running", metric: "accuracy > 0.9, f1_macro>=0.5;" },
        { limit: 50, cursor: "2026-01-01T00:00:00Z|abc" },
      ),
    );
    expect(q.get("model")).toBe("digits/logreg:main");
    expect(q.get("state")).toBe("Running");
    expect(q.getAll("metric")).toEqual(["accuracy>0.9", "f1_macro>=0.5"]);
    expect(q.get("limit")).toBe("50");
    expect(q.get("cursor")).toBe("2026-01-01T00:00:00Z|abc");
  });
  it("round-trips through a page URL", () => {
    const f = { ...EMPTY_FILTERS, creator: "ana", metric: "accuracy>0.9, loss<1" };
    expect(filtersFromSearch("?" + evaluationsQuery(f))).toEqual({ ...f, metric: "accuracy>0.9, loss<1" });
  });
  it("splits metric conditions", () => {
    expect(metricConditions(" a > 1 ,, b<2 ")).toEqual(["a>1", "b<2"]);
  });
});

describe("nextCursor", () => {
  const rows = [
    { startTime: "t2", id: "b" },
    { startTime: "t1", id: "a" },
  ];
  it("continues after the last row of a full page", () => {
    expect(nextCursor(rows, 2)).toBe("t1|a");
  });
  it("ends on a short page", () => {
    expect(nextCursor(rows, 3)).toBeNull();
    expect(nextCursor([], 3)).toBeNull();
  });
});

describe("samples filters", () => {
  const cols = ["id", "label", "prediction", "correct"];
  it("only wrong", () => {
    expect(samplesWhere({ ...EMPTY_SAMPLE_FILTER, onlyWrong: true }, cols)).toBe("correct = false");
    expect(samplesWhere({ ...EMPTY_SAMPLE_FILTER, onlyWrong: true }, ["id"])).toBeNull();
  });
  it("quotes values and identifiers", () => {
    expect(samplesWhere({ ...EMPTY_SAMPLE_FILTER, column: "label", value: "it's" }, cols)).toBe(
      `CAST("label" AS VARCHAR) = 'it''s'`,
    );
  });
  it("ignores unknown columns, combines with AND", () => {
    const w = samplesWhere({ onlyWrong: true, column: "nope", value: "1", where: "confidence > 0.5" }, cols);
    expect(w).toBe("correct = false AND (confidence > 0.5)");
  });
  it("builds the page query", () => {
    const q = new URLSearchParams(
      samplesQuery({ ...EMPTY_SAMPLE_FILTER, onlyWrong: true }, cols, { offset: 50, limit: 25, orderBy: '"id" ASC' }),
    );
    expect(q.get("where")).toBe("correct = false");
    expect(q.get("order_by")).toBe('"id" ASC');
    expect(q.get("offset")).toBe("50");
    expect(q.get("limit")).toBe("25");
  });
  it("orders by TanStack sorting", () => {
    expect(orderBy([])).toBeNull();
    expect(orderBy([{ id: "confidence", desc: true }, { id: "id", desc: false }])).toBe('"confidence" DESC, "id" ASC');
  });
});

describe("versionOf", () => {
  it("reads a job version label", () => {
    expect(versionOf("digits:V0002")).toEqual({ job: "digits", version: "V0002" });
    expect(versionOf("cli")).toBeNull();
  });
});
