import { describe, expect, it } from "vitest";
import { columnsReducer, DEFAULT_SETTINGS, normalize, tableState, visibleOrder } from "./columns";

const cols = ["select", "id", "state", "model", "dataset", "metric:accuracy"];
const fixed = ["select"];

describe("normalize", () => {
  it("fills a missing layout with every column in order", () => {
    expect(normalize(null, cols, fixed)).toEqual({
      order: ["id", "state", "model", "dataset", "metric:accuracy"],
      hidden: [],
      pinned: [],
    });
  });
  it("drops gone columns, appends new ones, ignores junk", () => {
    const s = normalize(
      { order: ["model", "gone", "id", "id", 3 as unknown as string], hidden: ["gone", "state"], pinned: ["select", "model"] },
      cols,
      fixed,
    );
    expect(s.order).toEqual(["model", "id", "state", "dataset", "metric:accuracy"]);
    expect(s.hidden).toEqual(["state"]);
    expect(s.pinned).toEqual(["model"]);
  });
});

describe("columnsReducer", () => {
  const base = normalize(null, cols, fixed);
  it("hides and shows", () => {
    const s = columnsReducer(base, { type: "toggle", id: "dataset" });
    expect(s.hidden).toEqual(["dataset"]);
    expect(columnsReducer(s, { type: "toggle", id: "dataset" }).hidden).toEqual([]);
  });
  it("pins and unpins", () => {
    const s = columnsReducer(base, { type: "pin", id: "metric:accuracy" });
    expect(s.pinned).toEqual(["metric:accuracy"]);
    expect(columnsReducer(s, { type: "pin", id: "metric:accuracy" }).pinned).toEqual([]);
  });
  it("moves by drag (drop onto another column) and by steps, clamped", () => {
    const dropped = columnsReducer(base, { type: "drop", id: "dataset", onto: "id" });
    expect(dropped.order).toEqual(["dataset", "id", "state", "model", "metric:accuracy"]);
    const right = columnsReducer(base, { type: "moveBy", id: "id", delta: 1 });
    expect(right.order.slice(0, 2)).toEqual(["state", "id"]);
    const left = columnsReducer(base, { type: "moveBy", id: "id", delta: -5 });
    expect(left.order).toEqual(base.order);
    const end = columnsReducer(base, { type: "move", id: "id", to: 99 });
    expect(end.order.at(-1)).toBe("id");
    expect(columnsReducer(base, { type: "drop", id: "id", onto: "id" })).toBe(base);
  });
  it("does not share arrays with the previous state", () => {
    const s = columnsReducer(base, { type: "toggle", id: "id" });
    expect(base.hidden).toEqual([]);
    expect(s).not.toBe(base);
  });
  it("loads and resets", () => {
    const s = columnsReducer(base, { type: "load", settings: { order: ["x"], hidden: "no" as unknown as string[] } });
    expect(s).toEqual({ order: ["x"], hidden: [], pinned: [] });
    expect(columnsReducer(s, { type: "reset" })).toEqual(DEFAULT_SETTINGS);
  });
});

describe("table shapes", () => {
  it("maps to TanStack state and the shown order", () => {
    let s = normalize(null, cols, fixed);
    s = columnsReducer(s, { type: "toggle", id: "state" });
    s = columnsReducer(s, { type: "pin", id: "metric:accuracy" });
    const t = tableState(s, fixed);
    expect(t.columnOrder[0]).toBe("select");
    expect(t.columnVisibility).toEqual({ state: false });
    expect(t.columnPinning.left).toEqual(["select", "metric:accuracy"]);
    expect(visibleOrder(s, fixed)).toEqual(["select", "metric:accuracy", "id", "model", "dataset"]);
  });
});
