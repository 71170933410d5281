// Candidates against the pinned baseline: metric deltas coloured by direction with
// significance marks, per-class deltas, fixed/regressed samples.
import { Anchor, Badge, Button, Card, Group, SegmentedControl, Stack, Table, Text, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api, type Evaluation } from "../api";
import { ErrorAlert, Loading, short } from "../components/common";
import { deltaDirection, formatDelta, formatMetric, isNumber, significance } from "../lib/format";
import { versionOf } from "../lib/query";
import { pinBody } from "./Evaluations";

interface MetricRow {
  metric: string;
  baseline: number;
  candidate: number;
  delta: number;
  lowerIsBetter: boolean;
}

interface SampleStat {
  column: string;
  n: number;
  delta: number;
  interval: [number, number];
  pValue: number | null;
  pHolm?: number | null; // corrected for every test of the comparison (Holm)
  significant?: boolean;
  samplesNeeded?: number | null;
  test: string;
  fixed: number;
  regressed: number;
  unchanged: number;
  fixedExamples: string[];
  regressedExamples: string[];
}

interface CandidateResult {
  candidate: string;
  candidateId: string;
  stale: string | null;
  metrics: MetricRow[];
  perClass: Record<string, Record<string, number>>;
  samples: { paired: number; metrics: Record<string, SampleStat> } | null;
  samplesNote: string | null;
}

interface Comparison {
  baseline: string;
  baselineId: string;
  baselinePinned: boolean;
  confidence: number;
  candidates: CandidateResult[];
}

/** How the compare route names an evaluation: a job's as JOB:VERSION (its pin is found by
 * the job), any other by id. */
function ident(ev: Evaluation): string {
  return versionOf(ev.source) ? ev.source : ev.id;
}

export function ComparePage() {
  const [search] = useSearchParams();
  const ids = (search.get("ids") ?? "").split(",").filter(Boolean);
  const client = useQueryClient();
  const evs = useQuery({
    queryKey: ["evaluations-by-id", ids],
    queryFn: () => Promise.all(ids.map((id) => api<Evaluation>(`/evaluations/${encodeURIComponent(id)}`))),
    enabled: ids.length > 0,
  });
  const cmp = useQuery({
    queryKey: ["compare", ids],
    enabled: !!evs.data,
    queryFn: () =>
      api<Comparison>("/compare", { method: "POST", body: { candidates: evs.data!.map(ident) } }),
  });
  const pin = useMutation({
    mutationFn: (ev: Evaluation) => api("/pins", { method: "PUT", body: pinBody(ev) }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["compare"] }),
  });

  if (!ids.length) return <Text>Select evaluations on the Evaluations page and press Compare.</Text>;
  if (evs.isLoading) return <Loading />;
  const baselineId = cmp.data?.baselineId;
  const shown = cmp.data?.candidates.filter((c) => c.candidateId !== baselineId) ?? [];

  return (
    <Stack>
      <Title order={2}>Compare</Title>
      <ErrorAlert error={evs.error} />
      <Card withBorder>
        <Text fw={600} mb="xs">
          Selected evaluations
        </Text>
        <Table data-testid="compare-selection">
          <Table.Tbody>
            {(evs.data ?? []).map((ev) => (
              <Table.Tr key={ev.id} data-eval={ev.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/evaluations/${ev.id}`}>
                    {short(ev.id)}
                  </Anchor>
                </Table.Td>
                <Table.Td>{ev.source}</Table.Td>
                <Table.Td>{ev.modelRef ?? ev.endpoint}</Table.Td>
                <Table.Td>
                  {ev.id === baselineId ? (
                    <Badge color="yellow" data-testid="baseline-badge">
                      baseline{cmp.data?.baselinePinned ? " (pinned)" : ""}
                    </Badge>
                  ) : (
                    <Button size="compact-xs" variant="light" onClick={() => pin.mutate(ev)} loading={pin.isPending}>
                      Pin as baseline
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <ErrorAlert error={pin.error} title="Cannot pin" />
      </Card>
      {cmp.isLoading && <Loading />}
      {cmp.error ? <ErrorAlert error={cmp.error} title="Cannot compare (pin one of them as the baseline)" /> : null}
      {cmp.data && (
        <Text size="sm">
          Baseline <b>{cmp.data.baseline}</b> ({short(cmp.data.baselineId)}){cmp.data.baselinePinned ? ", pinned" : ""};
          confidence {cmp.data.confidence}. Marks: * p&lt;0.05, ** p&lt;0.01, *** p&lt;0.001 (paired test on the samples,
          Holm-corrected over every test shown).
        </Text>
      )}
      {shown.map((c) => (
        <CandidateCard key={c.candidateId} c={c} baselineId={baselineId} />
      ))}
    </Stack>
  );
}

interface Diff {
  fixed: number;
  regressed: number;
  rows: Record<string, unknown>[];
}

/** The samples that changed, with both sides' predictions (POST /api/v1/diff). */
function ChangedSamples({ baselineId, candidateId }: { baselineId: string; candidateId: string }) {
  const [only, setOnly] = useState("all");
  const diff = useQuery({
    queryKey: ["diff", baselineId, candidateId, only],
    queryFn: () =>
      api<Diff>("/diff", {
        method: "POST",
        body: { baseline: baselineId, candidate: candidateId, only: only === "all" ? null : only, limit: 20 },
      }),
  });
  const rows = diff.data?.rows ?? [];
  const sides = [...new Set(Object.keys(rows[0] ?? {}).filter((k) => k.startsWith("baseline.")).map((k) => k.slice(9)))];
  return (
    <Stack gap={4} mt="sm" data-testid="changed-samples">
      <Group>
        <Text size="sm" fw={600}>
          Changed samples
        </Text>
        <SegmentedControl
          size="xs"
          value={only}
          onChange={setOnly}
          data={[
            { value: "all", label: "all" },
            { value: "fixed", label: `fixed (${diff.data?.fixed ?? "…"})` },
            { value: "regressed", label: `regressed (${diff.data?.regressed ?? "…"})` },
          ]}
        />
      </Group>
      <ErrorAlert error={diff.error} title="Cannot pair the samples" />
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Sample</Table.Th>
            <Table.Th>Change</Table.Th>
            {sides.map((k) => (
              <Table.Th key={k}>{k}: baseline → candidate</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((r) => (
            <Table.Tr key={String(r.sample)} data-change={String(r.change)}>
              <Table.Td>{String(r.sample)}</Table.Td>
              <Table.Td className={r.change === "fixed" ? "delta-better" : "delta-worse"}>{String(r.change)}</Table.Td>
              {sides.map((k) => (
                <Table.Td key={k}>
                  {formatMetric(r[`baseline.${k}`])} → {formatMetric(r[`candidate.${k}`])}
                </Table.Td>
              ))}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function CandidateCard({ c, baselineId }: { c: CandidateResult; baselineId?: string }) {
  const stats = c.samples?.metrics ?? {};
  const classes = Object.entries(c.perClass ?? {});
  return (
    <Card withBorder data-testid="candidate" data-candidate={c.candidateId}>
      <Text fw={600}>
        {c.candidate} <Text span c="dimmed" size="xs">{short(c.candidateId)}</Text>
      </Text>
      {c.stale && (
        <Text size="xs" c="orange">
          stale: {c.stale}
        </Text>
      )}
      <Table data-testid="metric-deltas" mt="xs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Metric</Table.Th>
            <Table.Th>Baseline</Table.Th>
            <Table.Th>Candidate</Table.Th>
            <Table.Th>Delta</Table.Th>
            <Table.Th>Interval</Table.Th>
            <Table.Th>Significant</Table.Th>
            <Table.Th>Fixed / regressed</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {c.metrics.map((m) => {
            const s = stats[m.metric];
            const p = s ? (s.pHolm ?? s.pValue) : null;
            return (
              <Table.Tr key={m.metric} data-metric={m.metric}>
                <Table.Td>{m.metric}</Table.Td>
                <Table.Td>{formatMetric(m.baseline)}</Table.Td>
                <Table.Td>{formatMetric(m.candidate)}</Table.Td>
                <Table.Td className={`delta-${deltaDirection(m.delta, m.lowerIsBetter)}`} data-testid="delta">
                  {formatDelta(m.delta)}
                  {significance(p)}
                </Table.Td>
                <Table.Td>{s ? `[${formatDelta(s.interval[0])}, ${formatDelta(s.interval[1])}]` : ""}</Table.Td>
                <Table.Td data-testid="significant">
                  {s?.significant === undefined
                    ? ""
                    : `${s.significant ? "yes" : "no"}${isNumber(p) ? ` (p ${formatMetric(p)}, ${s.test})` : ` (${s.test})`}${
                        !s.significant && s.samplesNeeded ? `; ~${formatMetric(s.samplesNeeded)} samples to tell` : ""
                      }`}
                </Table.Td>
                <Table.Td>{s ? `${s.fixed} / ${s.regressed}` : ""}</Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {c.samplesNote && (
        <Text size="xs" c="dimmed">
          {c.samplesNote}
        </Text>
      )}
      {c.samples && baselineId && <ChangedSamples baselineId={baselineId} candidateId={c.candidateId} />}
      {classes.length > 0 && (
        <Table mt="xs" data-testid="per-class-deltas">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Class</Table.Th>
              {Object.keys(classes[0][1]).map((k) => (
                <Table.Th key={k}>Δ {k}</Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {classes.map(([name, d]) => (
              <Table.Tr key={name}>
                <Table.Td>{name}</Table.Td>
                {Object.entries(d).map(([k, v]) => (
                  <Table.Td key={k} className={`delta-${deltaDirection(v)}`}>
                    {formatDelta(v)}
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}
