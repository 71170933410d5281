import { Anchor, Button, Card, Group, Modal, Stack, Text, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, enc, storedKey, type Evaluation } from "../api";
import { Charts } from "../components/Charts";
import { Samples } from "../components/Samples";
import { Facts, MetricSummary } from "../components/Summary";
import { ErrorAlert, Loading, StateBadge, short } from "../components/common";
import { formatBytes, formatTime } from "../lib/format";
import { versionOf } from "../lib/query";
import { pinBody } from "./Evaluations";

async function download(id: string, name: string) {
  const key = storedKey();
  const r = await fetch(`/api/v1/evaluations/${enc(id)}/artifacts/${name.split("/").map(enc).join("/")}`, {
    headers: key ? { Authorization: `Bearer ${key}` } : {},
  });
  if (!r.ok) return;
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name.split("/").pop() ?? name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function EvaluationPage() {
  const { id = "" } = useParams();
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const ev = useQuery({ queryKey: ["evaluation", id], queryFn: () => api<Evaluation>(`/evaluations/${enc(id)}`) });
  const client = useQueryClient();
  const pin = useMutation({
    mutationFn: (e: Evaluation) => api<{ for: string }>("/pins", { method: "PUT", body: pinBody(e) }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["pinned-baseline"] }),
  });
  const remove = useMutation({
    mutationFn: () => api(`/evaluations/${enc(id)}`, { method: "DELETE" }),
    onSuccess: () => navigate("/evaluations"),
  });
  if (ev.isLoading) return <Loading />;
  if (ev.error || !ev.data) return <ErrorAlert error={ev.error} title="Cannot open the evaluation" />;
  const e = ev.data;
  const v = versionOf(e.source);
  const metrics = e.results?.metric ?? {};
  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>Evaluation {short(e.id)}</Title>
          <StateBadge state={e.state} />
          {e.partial && <Text c="orange">partial</Text>}
        </Group>
        <Group>
          {v && (
            <Button variant="default" component={Link} to={`/jobs/${enc(v.job)}/versions/${v.version}`}>
              Open {e.source}
            </Button>
          )}
          <Button variant="default" onClick={() => pin.mutate(e)}>
            Pin as baseline
          </Button>
          {!v && (
            <Button color="red" variant="light" onClick={() => setConfirmDelete(true)}>
              Delete
            </Button>
          )}
        </Group>
      </Group>
      <ErrorAlert error={pin.error} title="Cannot pin" />
      {pin.isSuccess && (
        <Text size="sm" c="green" data-testid="pinned">
          Pinned as the baseline of {pin.data.for}.
        </Text>
      )}
      <Modal opened={confirmDelete} onClose={() => setConfirmDelete(false)} title="Delete this evaluation?">
        <ErrorAlert error={remove.error} title="Cannot delete" />
        <Group mt="md" justify="end">
          <Button variant="default" onClick={() => setConfirmDelete(false)}>
            Cancel
          </Button>
          <Button color="red" onClick={() => remove.mutate()} data-testid="confirm-delete">
            Delete
          </Button>
        </Group>
      </Modal>
      <Card withBorder>
        <Facts
          rows={[
            ["model", e.modelRef ?? e.endpoint],
            ["model commit", short(e.modelCommit)],
            ["dataset", e.datasetRef],
            ["dataset commit", short(e.datasetCommit)],
            [
              "source",
              v ? (
                <Anchor component={Link} to={`/jobs/${enc(v.job)}/versions/${v.version}`} size="sm">
                  {e.source}
                </Anchor>
              ) : (
                e.source
              ),
            ],
            ["created by", e.creator],
            ["created", formatTime(e.startTime)],
            ["samples", String(e.samples)],
            ["freshness", e.stale ? `stale: ${e.stale}` : "current"],
          ]}
        />
      </Card>
      <MetricSummary metrics={metrics} />
      <Charts metrics={metrics} evaluationId={e.id} artifacts={e.artifacts} />
      {e.artifacts.length > 0 && (
        <Card withBorder>
          <Text fw={600}>Artifacts</Text>
          {e.artifacts.map((a) => (
            <Group key={a.name} gap="xs">
              <Anchor size="sm" onClick={() => download(e.id, a.name)}>
                {a.name}
              </Anchor>
              <Text size="xs" c="dimmed">
                {formatBytes(a.size)}
              </Text>
            </Group>
          ))}
        </Card>
      )}
      {e.samples > 0 && (
        <Card withBorder>
          <Text fw={600}>Samples</Text>
          <Samples
            evaluationId={e.id}
            initialOnlyWrong={search.get("only") === "wrong"}
            evaluation={e}
          />
        </Card>
      )}
    </Stack>
  );
}
