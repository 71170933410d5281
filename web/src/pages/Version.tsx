import { Anchor, Button, Card, Group, Modal, Stack, Table, Text, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, enc, type Evaluation, type Task, type Version } from "../api";
import { Charts } from "../components/Charts";
import { Logs } from "../components/Logs";
import { Samples } from "../components/Samples";
import { Facts, MetricSummary } from "../components/Summary";
import { ErrorAlert, Loading, StateBadge, short } from "../components/common";
import { formatBytes, formatDuration, formatTime, isActive } from "../lib/format";

export function TasksTable({ tasks }: { tasks: Task[] }) {
  return (
    <Table data-testid="tasks">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Task</Table.Th>
          <Table.Th>State</Table.Th>
          <Table.Th>Attempts</Table.Th>
          <Table.Th>Host / pid</Table.Th>
          <Table.Th>Exit</Table.Th>
          <Table.Th>Started</Table.Th>
          <Table.Th>Duration</Table.Th>
          <Table.Th>Message</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {tasks.map((t) => (
          <Table.Tr key={t.index}>
            <Table.Td>{t.index}</Table.Td>
            <Table.Td>
              <StateBadge state={t.state} />
            </Table.Td>
            <Table.Td>
              {t.attempts} / {t.maxAttempts}
            </Table.Td>
            <Table.Td>{t.host ? `${t.host} / ${t.pid ?? "—"}` : "—"}</Table.Td>
            <Table.Td>{t.exitCode ?? "—"}</Table.Td>
            <Table.Td>{formatTime(t.startedAt)}</Table.Td>
            <Table.Td>{formatDuration(t.startedAt, t.finishedAt)}</Table.Td>
            <Table.Td>{t.message}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function VersionPage() {
  const { job = "", version = "" } = useParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const base = `/jobs/${enc(job)}/versions/${enc(version)}`;
  const v = useQuery({
    queryKey: ["version", job, version],
    queryFn: () => api<Version>(base),
    refetchInterval: (q) => (isActive(q.state.data?.state) ? 1500 : false),
  });
  const active = isActive(v.data?.state);
  const tasks = useQuery({
    queryKey: ["tasks", job, version],
    queryFn: () => api<Task[]>(`${base}/tasks`),
    refetchInterval: active ? 1500 : false,
  });
  const ev = useQuery({
    queryKey: ["evaluation", v.data?.evaluationId],
    enabled: !!v.data?.evaluationId,
    queryFn: () => api<Evaluation>(`/evaluations/${enc(v.data!.evaluationId!)}`),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ["version", job, version] });
  const terminate = useMutation({ mutationFn: () => api<Version>(`${base}/terminate`, { method: "POST" }), onSuccess: refresh });
  const remove = useMutation({
    mutationFn: () => api(base, { method: "DELETE" }),
    onSuccess: () => navigate(`/jobs/${enc(job)}`),
  });
  const pin = useMutation({
    mutationFn: () => api<{ for: string }>("/pins", { method: "PUT", body: { evaluation: v.data!.evaluationId, job } }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["pinned-baseline"] }),
  });

  if (v.isLoading) return <Loading />;
  if (v.error || !v.data) return <ErrorAlert error={v.error} title={`Cannot open ${job}:${version}`} />;
  const d = v.data;
  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>
            <Anchor component={Link} to={`/jobs/${enc(job)}`} inherit>
              {job}
            </Anchor>
            :{d.name}
          </Title>
          <StateBadge state={d.state} />
          {d.queuePosition != null && <Text size="sm">position {d.queuePosition} in the queue</Text>}
        </Group>
        <Group>
          {active && (
            <Button color="orange" variant="light" onClick={() => terminate.mutate()} loading={terminate.isPending}>
              Terminate
            </Button>
          )}
          <Button variant="default" onClick={() => navigate(`/create?job=${enc(job)}`)}>
            New version
          </Button>
          {d.evaluationId && (
            <Button variant="default" onClick={() => pin.mutate()} loading={pin.isPending}>
              Pin as baseline
            </Button>
          )}
          <Button color="red" variant="light" onClick={() => setConfirmDelete(true)} disabled={active}>
            Delete
          </Button>
        </Group>
      </Group>
      {d.message && (
        <Text size="sm" c={d.state === "Failed" ? "red" : "dimmed"} data-testid="version-message">
          {d.message}
        </Text>
      )}
      <ErrorAlert error={terminate.error} title="Cannot terminate" />
      <ErrorAlert error={pin.error} title="Cannot pin" />
      {pin.isSuccess && (
        <Text size="sm" c="green" data-testid="pinned">
          Pinned as the baseline of {pin.data.for}.
        </Text>
      )}
      <Modal opened={confirmDelete} onClose={() => setConfirmDelete(false)} title={`Delete ${job}:${d.name}?`}>
        <Text size="sm">Its results and evaluation are deleted with it. This cannot be undone.</Text>
        <ErrorAlert error={remove.error} title="Cannot delete" />
        <Group mt="md" justify="end">
          <Button variant="default" onClick={() => setConfirmDelete(false)}>
            Cancel
          </Button>
          <Button color="red" onClick={() => remove.mutate()} loading={remove.isPending} data-testid="confirm-delete">
            Delete
          </Button>
        </Group>
      </Modal>
      <Card withBorder>
        <Facts
          rows={[
            ["type", d.type],
            ["created", formatTime(d.createdAt)],
            ["started", formatTime(d.startedAt)],
            ["finished", formatTime(d.finishedAt)],
            ["duration", formatDuration(d.startedAt, d.finishedAt)],
            ["model", d.endpoint ? `endpoint ${d.endpoint}` : (d.model ?? d.modelPath)],
            ["model commit", short(d.modelCommit)],
            ["dataset", d.dataset ?? d.dataPath],
            ["dataset commit", short(d.datasetCommit)],
            ["code", d.code ? `${d.code} (${short(d.codeCommit)}) ${d.launch ?? ""}` : "built-in evaluator"],
            ["pool", d.pool],
            ["resources", `${d.cpu} CPU, ${d.memory ? formatBytes(d.memory) : "no memory limit"}, ${d.gpu} GPU`],
            ["timeout", `${d.timeout} s`],
            ["debug", d.debug ? "on" : "off"],
            ["params", Object.keys(d.params ?? {}).length ? JSON.stringify(d.params) : "—"],
            ["usage", `${d.usage.cpuSeconds} CPU-s, peak ${formatBytes(d.usage.peakMemory)}`],
            ["created by", ev.data?.creator ?? "—"],
            [
              "evaluation",
              d.evaluationId ? (
                <Anchor component={Link} to={`/evaluations/${d.evaluationId}`} size="sm">
                  {short(d.evaluationId)}
                </Anchor>
              ) : (
                "—"
              ),
            ],
          ]}
        />
      </Card>
      <MetricSummary metrics={d.metrics} />
      <Charts metrics={d.metrics} evaluationId={d.evaluationId} artifacts={ev.data?.artifacts} />
      <Card withBorder>
        <Text fw={600}>Tasks</Text>
        <ErrorAlert error={tasks.error} />
        <TasksTable tasks={tasks.data ?? []} />
      </Card>
      <Card withBorder>
        <Text fw={600}>Logs</Text>
        {tasks.data && tasks.data.length > 0 ? (
          <Logs job={job} version={version} tasks={tasks.data.map((t) => t.index)} />
        ) : (
          <Text size="sm" c="dimmed">
            {active ? "No task has started yet." : "No tasks ran."}
          </Text>
        )}
      </Card>
      {d.evaluationId && (ev.data?.samples ?? 0) > 0 && (
        <Card withBorder>
          <Text fw={600}>Samples</Text>
          <Samples
            evaluationId={d.evaluationId}
            evaluation={ev.data}
          />
        </Card>
      )}
    </Stack>
  );
}
