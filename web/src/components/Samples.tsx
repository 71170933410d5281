// The per-sample table: one page at a time, filtered and sorted on the server.
import { Button, Card, Checkbox, Group, Select, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef, SortingState } from "@tanstack/react-table";
import { useMemo, useState, type FormEvent } from "react";
import { api, enc, type SamplesPage } from "../api";
import { formatMetric } from "../lib/format";
import { EMPTY_SAMPLE_FILTER, orderBy, samplesQuery, type SampleFilter } from "../lib/query";
import { AuthImage, imageType } from "./AuthImage";
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

/** Where a sample's image is: its id is the file's path in the dataset commit. */
export interface DatasetAt {
  id: string;
  commit: string;
}

function fileUrl(d: DatasetAt, path: string): string {
  return `/api/v1/assets/${enc(d.id)}/files/${path.split("/").map(enc).join("/")}?rev=${enc(d.commit)}`;
}

const TEXT_SIDES = ["prompt", "reply", "reference"];

/** One sample in full: an LLM turn's prompt, reply and reference side by side, an image
 * larger, then every field. */
function SampleDetail({ row, dataset }: { row: Record<string, unknown>; dataset?: DatasetAt }) {
  const id = typeof row.id === "string" ? row.id : null;
  const sides = TEXT_SIDES.filter((k) => k in row);
  return (
    <Card withBorder data-testid="sample-detail">
      {sides.length > 0 && (
        <SimpleGrid cols={sides.length} mb="xs">
          {sides.map((k) => (
            <div key={k}>
              <Text size="xs" fw={700}>
                {k}
              </Text>
              <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>
                {row[k] == null ? "—" : String(row[k])}
              </Text>
            </div>
          ))}
        </SimpleGrid>
      )}
      {dataset && id && imageType(id) && (
        <AuthImage url={fileUrl(dataset, id)} name={id} style={{ width: 160, imageRendering: "pixelated" }} />
      )}
      <Text size="xs" component="pre" style={{ whiteSpace: "pre-wrap", maxHeight: 300, overflow: "auto" }}>
        {JSON.stringify(row, null, 2)}
      </Text>
    </Card>
  );
}

export function Samples({
  evaluationId,
  initialOnlyWrong = false,
  dataset,
}: {
  evaluationId: string;
  initialOnlyWrong?: boolean;
  dataset?: DatasetAt;
}) {
  const [selected, setSelected] = useState<Record<string, unknown> | null>(null);
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
  const images = !!dataset && (page.data?.rows ?? []).some((r) => typeof r.id === "string" && imageType(r.id));
  const columns = useMemo<ColumnDef<Record<string, unknown>, unknown>[]>(
    () => [
      ...(images && dataset
        ? [
            {
              id: "_image",
              header: "",
              enableSorting: false,
              cell: ({ row }: { row: { original: Record<string, unknown> } }) =>
                typeof row.original.id === "string" && imageType(row.original.id) ? (
                  <AuthImage
                    url={fileUrl(dataset, row.original.id)}
                    name={row.original.id}
                    style={{ width: 32, height: 32, imageRendering: "pixelated", objectFit: "contain" }}
                  />
                ) : null,
            } as ColumnDef<Record<string, unknown>, unknown>,
          ]
        : []),
      ...columnNames.map<ColumnDef<Record<string, unknown>, unknown>>((name) => ({
        id: name,
        header: name,
        accessorFn: (r) => r[name],
        cell: ({ getValue }) => cell(getValue()),
      })),
    ],
    [columnNames.join(), images, dataset?.id, dataset?.commit], // eslint-disable-line react-hooks/exhaustive-deps
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
        onRowClick={(r) => setSelected(r)}
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
      {selected && <SampleDetail row={selected} dataset={dataset} />}
    </Stack>
  );
}
