// The per-sample table: one page at a time, filtered and sorted on the server.
import { Button, Checkbox, Group, Select, Stack, Text, TextInput } from "@mantine/core";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef, SortingState } from "@tanstack/react-table";
import { useMemo, useState, type FormEvent } from "react";
import { api, enc, type SamplesPage } from "../api";
import { formatMetric } from "../lib/format";
import { EMPTY_SAMPLE_FILTER, orderBy, samplesQuery, type SampleFilter } from "../lib/query";
import { DataTable } from "./DataTable";
import { ErrorAlert } from "./common";

const PAGE = 50;

function cell(v: unknown): string {
  if (Array.isArray(v)) {
    const shown = v.slice(0, 4).map((x) => (typeof x === "number" ? formatMetric(x) : JSON.stringify(x)));
    return `[${shown.join(", ")}${v.length > 4 ? `, … ${v.length} values` : ""}]`;
  }
  if (v && typeof v === "object") return JSON.stringify(v).slice(0, 200);
  if (typeof v === "string") return v.length > 300 ? v.slice(0, 300) + "…" : v;
  return formatMetric(v);
}

export function Samples({ evaluationId, initialOnlyWrong = false }: { evaluationId: string; initialOnlyWrong?: boolean }) {
  const [filter, setFilter] = useState<SampleFilter>({ ...EMPTY_SAMPLE_FILTER, onlyWrong: initialOnlyWrong });
  const [draft, setDraft] = useState<SampleFilter>(filter);
  const [offset, setOffset] = useState(0);
  const [sorting, setSorting] = useState<SortingState>([]);
  const [known, setKnown] = useState<string[]>(["correct"]);

  const query = samplesQuery(filter, known, { offset, limit: PAGE, orderBy: orderBy(sorting) });
  const page = useQuery({
    queryKey: ["samples", evaluationId, query],
    queryFn: async () => {
      const r = await api<SamplesPage>(`/evaluations/${enc(evaluationId)}/samples?${query}`);
      if (r.columns.join() !== known.join()) setKnown(r.columns);
      return r;
    },
    placeholderData: keepPreviousData,
  });
  const columnNames = page.data?.columns ?? [];
  const columns = useMemo<ColumnDef<Record<string, unknown>, unknown>[]>(
    () =>
      columnNames.map((name) => ({
        id: name,
        header: name,
        accessorFn: (r) => r[name],
        cell: ({ getValue }) => cell(getValue()),
      })),
    [columnNames.join()], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const hasCorrect = known.includes("correct");

  function apply(e: FormEvent) {
    e.preventDefault();
    setOffset(0);
    setFilter(draft);
  }

  const total = page.data?.total ?? 0;
  return (
    <Stack gap="xs" data-testid="samples">
      <form onSubmit={apply}>
        <Group align="end" gap="xs">
          <Checkbox
            label="Only wrong"
            disabled={!hasCorrect}
            checked={draft.onlyWrong}
            onChange={(e) => {
              const next = { ...draft, onlyWrong: e.currentTarget.checked };
              setDraft(next);
              setOffset(0);
              setFilter(next);
            }}
            data-testid="only-wrong"
          />
          <Select
            size="xs"
            label="Column"
            data={known}
            clearable
            value={draft.column || null}
            onChange={(v) => setDraft({ ...draft, column: v ?? "" })}
            w={140}
          />
          <TextInput size="xs" label="equals" value={draft.value} onChange={(e) => setDraft({ ...draft, value: e.currentTarget.value })} w={120} />
          <TextInput
            size="xs"
            label="Where (SQL)"
            placeholder="confidence < 0.5"
            value={draft.where}
            onChange={(e) => setDraft({ ...draft, where: e.currentTarget.value })}
            w={260}
          />
          <Button size="xs" type="submit">
            Apply
          </Button>
        </Group>
      </form>
      <ErrorAlert error={page.error} title="Cannot read samples" />
      <DataTable
        data={page.data?.rows ?? []}
        columns={columns}
        sorting={sorting}
        onSortingChange={(s) => {
          setOffset(0);
          setSorting(s);
        }}
        testId="samples-table"
        empty={page.isLoading ? "Loading…" : "No samples match."}
      />
      <Group>
        <Button size="xs" variant="default" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Previous
        </Button>
        <Button size="xs" variant="default" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
          Next
        </Button>
        <Text size="xs" data-testid="samples-count">
          {total ? `${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}` : "0 of 0"}
          {page.isFetching ? " · loading…" : ""}
        </Text>
      </Group>
    </Stack>
  );
}
