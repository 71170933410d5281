// One table for the console: TanStack Table with column order, visibility, pinning (left,
// sticky) and sorting; sorting on the server when `onSortingChange` is given.
import {
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
  type ColumnDef,
  type SortingState,
} from "@tanstack/react-table";
import { useState, type CSSProperties } from "react";
import { tableState, type ColumnSettings } from "../lib/columns";

interface Props<T> {
  data: T[];
  columns: ColumnDef<T, unknown>[];
  settings?: ColumnSettings;
  fixed?: string[];
  sorting?: SortingState;
  onSortingChange?: (s: SortingState) => void;
  rowClassName?: (row: T) => string | undefined;
  rowId?: (row: T) => string;
  testId?: string;
  empty?: string;
  onRowClick?: (row: T) => void;
}

export function DataTable<T>({
  data,
  columns,
  settings,
  fixed = [],
  sorting: serverSorting,
  onSortingChange,
  rowClassName,
  rowId,
  testId,
  empty = "Nothing here yet.",
  onRowClick,
}: Props<T>) {
  const [localSorting, setLocalSorting] = useState<SortingState>([]);
  const manual = !!onSortingChange;
  const sorting = manual ? (serverSorting ?? []) : localSorting;
  const shapes = settings ? tableState(settings, fixed) : undefined;
  const table = useReactTable({
    data,
    columns,
    getRowId: rowId ? (row) => rowId(row) : undefined,
    state: { sorting, ...(shapes ?? {}) },
    manualSorting: manual,
    onSortingChange: (updater) => {
      const next = typeof updater === "function" ? updater(sorting) : updater;
      if (manual) onSortingChange!(next);
      else setLocalSorting(next);
    },
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: manual ? undefined : getSortedRowModel(),
    enableColumnPinning: true,
  });

  const pinnedStyle = (pinned: false | "left" | "right", start: number, size: number): CSSProperties | undefined =>
    pinned === "left"
      ? { left: start, width: size, minWidth: size, maxWidth: size, overflow: "hidden", textOverflow: "ellipsis" }
      : undefined;

  return (
    <div className="table-wrap">
      <table className="data-table" data-testid={testId}>
        <thead>
          {table.getHeaderGroups().map((hg) => (
            <tr key={hg.id}>
              {hg.headers.map((h) => {
                const pinned = h.column.getIsPinned();
                const sortable = h.column.getCanSort();
                const dir = h.column.getIsSorted();
                return (
                  <th
                    key={h.id}
                    data-col={h.column.id}
                    className={pinned ? "pinned" : undefined}
                    style={pinnedStyle(pinned, h.column.getStart("left"), h.column.getSize())}
                    onClick={sortable ? h.column.getToggleSortingHandler() : undefined}
                    aria-sort={dir === "asc" ? "ascending" : dir === "desc" ? "descending" : undefined}
                  >
                    {h.isPlaceholder ? null : flexRender(h.column.columnDef.header, h.getContext())}
                    {dir === "asc" ? " ▲" : dir === "desc" ? " ▼" : ""}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr
              key={row.id}
              className={rowClassName?.(row.original)}
              data-row={row.id}
              onClick={onRowClick ? () => onRowClick(row.original) : undefined}
              style={onRowClick ? { cursor: "pointer" } : undefined}
            >
              {row.getVisibleCells().map((cell) => {
                const pinned = cell.column.getIsPinned();
                return (
                  <td
                    key={cell.id}
                    data-col={cell.column.id}
                    className={pinned ? "pinned" : undefined}
                    style={pinnedStyle(pinned, cell.column.getStart("left"), cell.column.getSize())}
                  >
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                );
              })}
            </tr>
          ))}
          {data.length === 0 && (
            <tr>
              <td colSpan={Math.max(1, table.getVisibleLeafColumns().length)}>{empty}</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
