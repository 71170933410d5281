// The per-sample table: one page at a time, filtered and sorted on the server.
import {
  Button,
  Card,
  Checkbox,
  Group,
  NumberInput,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
} from "@mantine/core";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef, SortingState } from "@tanstack/react-table";
import { useMemo, useState, type FormEvent } from "react";
import { api, enc, type Evaluation, type SamplesPage } from "../api";
import { formatMetric } from "../lib/format";
import { EMPTY_SAMPLE_FILTER, orderBy, samplesQuery, type SampleFilter } from "../lib/query";
import { compareRef, diffLimit, diffPage, firstMetric, previewKey, previewUrl, type DiffPage } from "../lib/samples";
import { AuthImage } from "./AuthImage";
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

const TEXT_SIDES = ["prompt", "reply", "reference"];

/** One sample in full: an LLM turn's prompt, reply and reference side by side, an image
 * larger, then every field. */
function SampleDetail({ row, evaluationId }: { row: Record<string, unknown>; evaluationId: string }) {
  const key = previewKey(row);
  const boxes = "dt_bbox" in row;
  const [minScore, setMinScore] = useState(0.5);
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
      {key && (
        <Stack gap={4} mb="xs" data-testid="sample-preview">
          <AuthImage
            url={previewUrl(evaluationId, key, 384, boxes ? minScore : undefined)}
            name="preview.png"
            style={{ maxWidth: 384, imageRendering: "pixelated" }}
          />
          {boxes && (
            <Group gap="xs">
              <Text size="xs">green: truth · red: predictions scoring at least</Text>
              <NumberInput
                size="xs"
                w={90}
                min={0}
                max={1}
                step={0.05}
                decimalScale={2}
                value={minScore}
                onChange={(v) => typeof v === "number" && setMinScore(v)}
                aria-label="Minimum score"
              />
            </Group>
          )}
          {"mask" in row && (
            <Text size="xs" c="dimmed">
              The true mask is drawn; predicted masks are not kept per sample.
            </Text>
          )}
        </Stack>
      )}
      <Text size="xs" component="pre" style={{ whiteSpace: "pre-wrap", maxHeight: 300, overflow: "auto" }}>
        {JSON.stringify(row, null, 2)}
      </Text>
    </Card>
  );
}

type Change = "" | "regressed" | "fixed";

export function Samples({
  evaluationId,
  initialOnlyWrong = false,
  evaluation,
}: {
  evaluationId: string;
  initialOnlyWrong?: boolean;
  evaluation?: Evaluation;
}) {
  const [selected, setSelected] = useState<Record<string, unknown> | null>(null);
  const [filter, setFilter] = useState<SampleFilter>({ ...EMPTY_SAMPLE_FILTER, onlyWrong: initialOnlyWrong });
  const [draft, setDraft] = useState<SampleFilter>(filter);
  const [offset, setOffset] = useState(0);
  const [sorting, setSorting] = useState<SortingState>([]);
  const [known, setKnown] = useState<string[]>(["correct"]);
  const [change, setChange] = useState<Change>("");

  // The pinned baseline of this evaluation's job (or model), if any: the compare route
  // names it (one metric, the fewest resamples: only its id is needed here).
  const ref = evaluation ? compareRef(evaluation) : null;
  const metric = evaluation ? firstMetric(evaluation) : null;
  const pinned = useQuery({
    queryKey: ["pinned-baseline", ref, metric],
    enabled: !!ref && !!metric,
    retry: false,
    staleTime: 30_000,
    queryFn: () =>
      api<{ baseline: string; baselineId: string }>("/compare", {
        method: "POST",
        body: { candidates: [ref], metrics: [metric], resamples: 100 },
      }),
  });
  const baselineId = pinned.data && pinned.data.baselineId !== evaluationId ? pinned.data.baselineId : null;
  const changed = change !== "" && !!baselineId;
  const diff = useQuery({
    queryKey: ["samples-diff", evaluationId, baselineId, change, offset],
    enabled: changed,
    placeholderData: keepPreviousData,
    queryFn: () =>
      api<DiffPage>("/diff", {
        method: "POST",
        body: { baseline: baselineId, candidate: evaluationId, only: change, limit: diffLimit(offset, PAGE) },
      }),
  });

  const query = samplesQuery(filter, known, { offset, limit: PAGE, orderBy: orderBy(sorting) });
  const rowsPage = useQuery({
    queryKey: ["samples", evaluationId, query],
    enabled: !changed,
    queryFn: async () => {
      const r = await api<SamplesPage>(`/evaluations/${enc(evaluationId)}/samples?${query}`);
      if (r.columns.join() !== known.join()) setKnown(r.columns);
      return r;
    },
    placeholderData: keepPreviousData,
  });
  // The changed samples page like the rows: the diff route is asked for the first
  // offset + 50 (it has no offset) and the last 50 are shown.
  const page = changed
    ? {
        data: diff.data && change ? diffPage(diff.data, change, offset) : undefined,
        error: diff.error,
        isLoading: diff.isLoading,
        isFetching: diff.isFetching,
      }
    : rowsPage;
  const columnNames = page.data?.columns ?? [];
  const images = (page.data?.rows ?? []).some((r) => previewKey(r) !== null);
  const columns = useMemo<ColumnDef<Record<string, unknown>, unknown>[]>(
    () => [
      ...(images
        ? [
            {
              id: "_image",
              header: "",
              enableSorting: false,
              cell: ({ row }: { row: { original: Record<string, unknown> } }) => {
                const key = previewKey(row.original);
                return key ? (
                  <AuthImage
                    url={previewUrl(evaluationId, key, 128)}
                    name="preview.png"
                    style={{ width: 64, height: 64, imageRendering: "pixelated", objectFit: "contain" }}
                  />
                ) : null;
              },
            } as ColumnDef<Record<string, unknown>, unknown>,
          ]
        : []),
      ...columnNames.map<ColumnDef<Record<string, unknown>, unknown>>((name) => ({
        id: name,
        header: name,
        accessorFn: (r) => r[name],
        cell: ({ getValue }) => cell(getValue()),
        enableSorting: !changed,
      })),
    ],
    [columnNames.join(), images, evaluationId, changed], // eslint-disable-line react-hooks/exhaustive-deps
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
            disabled={!hasCorrect || changed}
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
          <Button size="xs" type="submit" disabled={changed}>
            Apply
          </Button>
        </Group>
      </form>
      {evaluation && (
        <Group gap="xs" data-testid="baseline-filter-row">
          {baselineId ? (
            <>
              <SegmentedControl
                size="xs"
                data-testid="baseline-filter"
                value={change || "all"}
                onChange={(v) => {
                  setOffset(0);
                  setSelected(null);
                  setChange(v === "all" ? "" : (v as Change));
                }}
                data={[
                  { value: "all", label: "all samples" },
                  { value: "regressed", label: "only regressed vs baseline" },
                  { value: "fixed", label: "only fixed" },
                ]}
              />
              <Text size="xs" c="dimmed" data-testid="baseline-name">
                baseline {pinned.data?.baseline} (pinned){changed && diff.data ? ` · changed in ${diff.data.column}` : ""}
              </Text>
            </>
          ) : (
            <Text size="xs" c="dimmed">
              {pinned.data
                ? "This evaluation is the pinned baseline."
                : pinned.isLoading && ref && metric
                  ? "Looking for a pinned baseline…"
                  : "Pin a baseline for its job or model to filter the regressed samples."}
            </Text>
          )}
        </Group>
      )}
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
      {selected && <SampleDetail row={selected} evaluationId={evaluationId} />}
    </Stack>
  );
}
