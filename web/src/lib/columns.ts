// Column settings of a table (hidden, order, pinned left), kept per user on the server.

export interface ColumnSettings {
  order: string[];
  hidden: string[];
  pinned: string[]; // pinned to the left, in this order
}

export type ColumnAction =
  | { type: "load"; settings: Partial<ColumnSettings> | null | undefined }
  | { type: "toggle"; id: string }
  | { type: "pin"; id: string }
  | { type: "move"; id: string; to: number }
  | { type: "moveBy"; id: string; delta: number }
  | { type: "drop"; id: string; onto: string }
  | { type: "reset" };

export const DEFAULT_SETTINGS: ColumnSettings = { order: [], hidden: [], pinned: [] };

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}

/** Settings made consistent with the columns a table has now: every column appears in
 * `order` exactly once (new ones at the end, gone ones dropped). Fixed columns (a row's
 * checkbox) are never hidden, moved or pinned by settings. */
export function normalize(
  settings: Partial<ColumnSettings> | null | undefined,
  columns: string[],
  fixed: string[] = [],
): ColumnSettings {
  const known = new Set(columns.filter((c) => !fixed.includes(c)));
  const order = unique(strings(settings?.order)).filter((id) => known.has(id));
  for (const id of columns) if (known.has(id) && !order.includes(id)) order.push(id);
  return {
    order,
    hidden: unique(strings(settings?.hidden)).filter((id) => known.has(id)),
    pinned: unique(strings(settings?.pinned)).filter((id) => known.has(id)),
  };
}

function moveTo(order: string[], id: string, to: number): string[] {
  const from = order.indexOf(id);
  if (from < 0) return order;
  const out = order.filter((x) => x !== id);
  const at = Math.max(0, Math.min(to, out.length));
  out.splice(at, 0, id);
  return out;
}

export function columnsReducer(state: ColumnSettings, action: ColumnAction): ColumnSettings {
  switch (action.type) {
    case "load":
      return {
        order: strings(action.settings?.order),
        hidden: strings(action.settings?.hidden),
        pinned: strings(action.settings?.pinned),
      };
    case "toggle":
      return {
        ...state,
        hidden: state.hidden.includes(action.id)
          ? state.hidden.filter((x) => x !== action.id)
          : [...state.hidden, action.id],
      };
    case "pin":
      return {
        ...state,
        pinned: state.pinned.includes(action.id)
          ? state.pinned.filter((x) => x !== action.id)
          : [...state.pinned, action.id],
      };
    case "move":
      return { ...state, order: moveTo(state.order, action.id, action.to) };
    case "moveBy": {
      const from = state.order.indexOf(action.id);
      if (from < 0) return state;
      return { ...state, order: moveTo(state.order, action.id, from + action.delta) };
    }
    case "drop": {
      if (action.id === action.onto) return state;
      const to = state.order.indexOf(action.onto);
      if (to < 0) return state;
      return { ...state, order: moveTo(state.order, action.id, to) };
    }
    case "reset":
      return { ...DEFAULT_SETTINGS };
  }
}

/** The same settings in TanStack Table's state shapes. */
export function tableState(s: ColumnSettings, fixed: string[] = []) {
  return {
    columnOrder: [...fixed, ...s.order],
    columnVisibility: Object.fromEntries(s.hidden.map((id) => [id, false])) as Record<string, boolean>,
    columnPinning: { left: [...fixed, ...s.pinned], right: [] as string[] },
  };
}

/** Column ids in the order they show: fixed, then pinned, then the rest; hidden left out. */
export function visibleOrder(s: ColumnSettings, fixed: string[] = []): string[] {
  const shown = (id: string) => !s.hidden.includes(id);
  const pinned = s.order.filter((id) => s.pinned.includes(id) && shown(id));
  const rest = s.order.filter((id) => !s.pinned.includes(id) && shown(id));
  return [...fixed, ...pinned, ...rest];
}
