import { Anchor, Button, Checkbox, Group, Select, Stack, Text, TextInput, Title, Tooltip } from "@mantine/core";
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, type Evaluation } from "../api";
import { ColumnSettingsPanel } from "../components/ColumnSettingsPanel";
import { DataTable } from "../components/DataTable";
import { ErrorAlert, StateBadge, short } from "../components/common";
import { useColumnSettings } from "../components/useColumnSettings";
import { messageOf } from "../lib/errors";
import { formatMetric, formatTime, isActive, isNumber } from "../lib/format";
import { EMPTY_FILTERS, evaluationsQuery, filtersFromSearch, nextCursor, versionOf, type EvalFilters } from "../lib/query";

const PAGE = 50;
const MAX_METRIC_COLUMNS = 12;
const FIXED = ["select"];
export const STATES = ["Creating", "Queuing", "Running", "Completed", "Failed", "Terminated", "TimedOut"];

/** Pin an evaluation as the baseline of its job (a job's evaluation) or of its model. */
export function pinBody(ev: Evaluation): { evaluation: string; job?: string; model?: string } {
  const v = versionOf(ev.source);
  if (v) return { evaluation: ev.id, job: v.job };
  return { evaluation: ev.id, model: ev.modelRef ?? undefined };
}

export function EvaluationsPage() {
  const [search, setSearch] = useSearchParams();
  const filters = useMemo(() => filtersFromSearch(search.toString()), [search]);
  const [draft, setDraft] = useState<EvalFilters>(filters);
  const [selected, setSelected] = useState<string[]>([]);
  const navigate = useNavigate();
  const client = useQueryClient();

  const list = useInfiniteQuery({
    queryKey: ["evaluations", filters],
    queryFn: ({ pageParam }) =>
      api<Evaluation[]>(`/evaluations?${evaluationsQuery(filters, { limit: PAGE, cursor: pageParam })}`),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => nextCursor(last, PAGE),
    // Live: every two seconds while anything listed still runs, else every ten (new
    // evaluations from jobs, the CLI or the SDK appear without a reload).
    refetchInterval: (q) => (q.state.data?.pages.some((p) => p.some((e) => isActive(e.state))) ? 2000 : 10_000),
  });
  const rows = useMemo(() => list.data?.pages.flat() ?? [], [list.data]);

  const pin = useMutation({
    mutationFn: (ev: Evaluation) => api<{ for: string }>("/pins", { method: "PUT", body: pinBody(ev) }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["compare"] }),
  });

  const pinMutate = pin.mutate;
  const metricNames = useMemo(() => {
    const names: string[] = [];
    for (const ev of rows)
      for (const [k, v] of Object.entries(ev.results?.metric ?? {}))
        if (isNumber(v) && !names.includes(k) && names.length < MAX_METRIC_COLUMNS) names.push(k);
    return names.sort();
  }, [rows]);

  const columns = useMemo<ColumnDef<Evaluation, unknown>[]>(() => {
    const base: ColumnDef<Evaluation, unknown>[] = [
      {
        id: "select",
        header: "",
        size: 36,
        enableSorting: false,
        cell: ({ row }) => (
          <Checkbox
            size="xs"
            aria-label={`Select ${row.original.id}`}
            checked={selected.includes(row.original.id)}
            onChange={(e) => {
              const on = e.currentTarget.checked;
              setSelected((s) => (on ? [...s, row.original.id] : s.filter((x) => x !== row.original.id)));
            }}
          />
        ),
      },
      {
        id: "id",
        header: "Evaluation",
        accessorFn: (e) => e.id,
        size: 110,
        cell: ({ row }) => (
          <Anchor component={Link} to={`/evaluations/${row.original.id}`} size="sm">
            {short(row.original.id)}
          </Anchor>
        ),
      },
      {
        id: "state",
        header: "State",
        accessorFn: (e) => e.state,
        size: 110,
        cell: ({ row }) => <StateBadge state={row.original.state} />,
      },
      {
        id: "source",
        header: "Job / source",
        accessorFn: (e) => e.source,
        size: 160,
        cell: ({ row }) => {
          const v = versionOf(row.original.source);
          return v ? (
            <Anchor component={Link} to={`/jobs/${encodeURIComponent(v.job)}/versions/${v.version}`} size="sm">
              {row.original.source}
            </Anchor>
          ) : (
            row.original.source
          );
        },
      },
      { id: "model", header: "Model", accessorFn: (e) => e.modelRef ?? e.endpoint ?? "—", size: 220 },
      { id: "dataset", header: "Dataset", accessorFn: (e) => e.datasetRef, size: 220 },
      ...metricNames.map<ColumnDef<Evaluation, unknown>>((name) => ({
        id: `metric:${name}`,
        header: name,
        size: 110,
        accessorFn: (e) => {
          const v = e.results?.metric?.[name];
          return isNumber(v) ? v : undefined;
        },
        sortUndefined: "last",
        cell: ({ getValue }) => formatMetric(getValue()),
      })),
      { id: "samples", header: "Samples", accessorFn: (e) => e.samples, size: 90 },
      { id: "creator", header: "Creator", accessorFn: (e) => e.creator ?? "—", size: 100 },
      {
        id: "startTime",
        header: "Created",
        accessorFn: (e) => e.startTime,
        size: 170,
        cell: ({ getValue }) => formatTime(getValue() as string),
      },
      {
        id: "stale",
        header: "Fresh",
        accessorFn: (e) => (e.stale ? "stale" : "current"),
        size: 80,
        cell: ({ row }) =>
          row.original.stale ? (
            <Tooltip label={row.original.stale}>
              <Text size="xs" c="orange">
                stale
              </Text>
            </Tooltip>
          ) : (
            <Text size="xs" c="dimmed">
              current
            </Text>
          ),
      },
      {
        id: "actions",
        header: "",
        size: 130,
        enableSorting: false,
        cell: ({ row }) => (
          <Button
            size="compact-xs"
            variant="light"
            onClick={() => pinMutate(row.original)}
            aria-label={`Pin ${row.original.id} as baseline`}
          >
            Pin as baseline
          </Button>
        ),
      },
    ];
    return base;
  }, [metricNames, selected, pinMutate]);

  const ids = useMemo(() => columns.map((c) => c.id!), [columns]);
  const labels = useMemo(
    () =>
      Object.fromEntries(
        columns.map((c) => [c.id!, typeof c.header === "string" && c.header ? c.header : c.id === "actions" ? "Actions" : c.id!]),
      ),
    [columns],
  );
  const cols = useColumnSettings("evaluations.columns", ids, FIXED);

  function apply(e: FormEvent) {
    e.preventDefault();
    setSearch(evaluationsQuery(draft));
  }

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Evaluations</Title>
        <Group>
          <Button
            disabled={selected.length < 1}
            onClick={() => navigate(`/compare?ids=${selected.join(",")}`)}
            data-testid="compare-selected"
          >
            Compare ({selected.length})
          </Button>
          <ColumnSettingsPanel settings={cols.settings} labels={labels} dispatch={cols.dispatch} status={cols.status} />
        </Group>
      </Group>
      <form onSubmit={apply} data-testid="filters">
        <Group align="end" gap="xs">
          {(["model", "dataset", "job", "creator"] as const).map((k) => (
            <TextInput
              key={k}
              size="xs"
              label={k[0].toUpperCase() + k.slice(1)}
              name={k}
              value={draft[k]}
              onChange={(e) => {
                const value = e.currentTarget.value;
                setDraft((d) => ({ ...d, [k]: value }));
              }}
            />
          ))}
          <Select
            size="xs"
            label="State"
            data={STATES}
            clearable
            value={draft.state || null}
            onChange={(v) => setDraft((d) => ({ ...d, state: v ?? "" }))}
            w={130}
          />
          <TextInput
            size="xs"
            label="Metric condition"
            name="metric"
            placeholder="accuracy>0.9"
            value={draft.metric}
            onChange={(e) => {
              const value = e.currentTarget.value;
              setDraft((d) => ({ ...d, metric: value }));
            }}
          />
          <Button size="xs" type="submit">
            Filter
          </Button>
          <Button
            size="xs"
            variant="subtle"
            onClick={() => {
              setDraft(EMPTY_FILTERS);
              setSearch("");
            }}
          >
            Clear
          </Button>
        </Group>
      </form>
      <ErrorAlert error={list.error} title="Cannot list evaluations" />
      {pin.isError && <ErrorAlert error={pin.error} title="Cannot pin" />}
      {pin.isSuccess && (
        <Text size="sm" c="green" data-testid="pinned">
          Pinned as the baseline of {pin.data.for}.
        </Text>
      )}
      <DataTable
        data={rows}
        columns={columns}
        settings={cols.settings}
        fixed={FIXED}
        rowId={(e) => e.id}
        testId="evaluations-table"
        empty={list.isLoading ? "Loading…" : "No evaluations match."}
      />
      <Group>
        {list.hasNextPage && (
          <Button variant="default" size="xs" onClick={() => list.fetchNextPage()} loading={list.isFetchingNextPage}>
            Load more
          </Button>
        )}
        <Text size="xs" c="dimmed">
          {rows.length} shown{list.isFetching ? " · refreshing…" : ""}
          {list.error ? ` · ${messageOf(list.error)}` : ""}
        </Text>
      </Group>
    </Stack>
  );
}
