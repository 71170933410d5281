import { Anchor, Button, Group, Modal, Stack, Table, Text, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, enc, type JobRow, type Version } from "../api";
import { ErrorAlert, Loading, StateBadge } from "../components/common";
import { formatDuration, formatMetric, formatTime, isActive, scalarMetrics } from "../lib/format";

function keyMetrics(m: Record<string, unknown> | null): string {
  return scalarMetrics(m)
    .slice(0, 3)
    .map(([k, v]) => `${k} ${formatMetric(v)}`)
    .join(", ");
}

export function JobsPage() {
  const jobs = useQuery({
    queryKey: ["jobs"],
    queryFn: () => api<JobRow[]>("/jobs"),
    refetchInterval: (q) => (q.state.data?.some((j) => isActive(j.latest?.state)) ? 2000 : false),
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Jobs</Title>
        <Button component={Link} to="/create">
          Create evaluation
        </Button>
      </Group>
      <ErrorAlert error={jobs.error} />
      {jobs.isLoading ? (
        <Loading />
      ) : (
        <Table data-testid="jobs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Job</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>Latest</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Key metrics</Table.Th>
              <Table.Th>Created</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(jobs.data ?? []).map((j) => (
              <Table.Tr key={j.name}>
                <Table.Td>
                  <Anchor component={Link} to={`/jobs/${enc(j.name)}`}>
                    {j.name}
                  </Anchor>
                  <Text size="xs" c="dimmed">
                    {j.description}
                  </Text>
                </Table.Td>
                <Table.Td>{j.type}</Table.Td>
                <Table.Td>{j.latest?.name ?? "—"}</Table.Td>
                <Table.Td>{j.latest && <StateBadge state={j.latest.state} />}</Table.Td>
                <Table.Td>{keyMetrics(j.latest?.metrics ?? null)}</Table.Td>
                <Table.Td>{formatTime(j.createdAt)}</Table.Td>
              </Table.Tr>
            ))}
            {jobs.data?.length === 0 && (
              <Table.Tr>
                <Table.Td colSpan={6}>No jobs yet.</Table.Td>
              </Table.Tr>
            )}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

export function JobPage() {
  const { job = "" } = useParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [deleting, setDeleting] = useState<string | null>(null);
  const versions = useQuery({
    queryKey: ["versions", job],
    queryFn: () => api<Version[]>(`/jobs/${enc(job)}/versions`),
    refetchInterval: (q) => (q.state.data?.some((v) => isActive(v.state)) ? 1500 : false),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ["versions", job] });
  const terminate = useMutation({
    mutationFn: (name: string) => api(`/jobs/${enc(job)}/versions/${enc(name)}/terminate`, { method: "POST" }),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (name: string) =>
      name === "*" ? api(`/jobs/${enc(job)}`, { method: "DELETE" }) : api(`/jobs/${enc(job)}/versions/${enc(name)}`, { method: "DELETE" }),
    onSuccess: (_, name) => {
      setDeleting(null);
      if (name === "*") navigate("/jobs");
      else refresh();
    },
  });
  const rows = [...(versions.data ?? [])].reverse();
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Job {job}</Title>
        <Group>
          <Button onClick={() => navigate(`/create?job=${enc(job)}`)}>New version</Button>
          <Button component={Link} variant="default" to={`/evaluations?job=${enc(job)}`}>
            Its evaluations
          </Button>
          <Button color="red" variant="light" onClick={() => setDeleting("*")}>
            Delete job
          </Button>
        </Group>
      </Group>
      <ErrorAlert error={versions.error} />
      <ErrorAlert error={terminate.error} title="Cannot terminate" />
      <Modal opened={deleting !== null} onClose={() => setDeleting(null)} title={deleting === "*" ? `Delete job ${job}?` : `Delete ${job}:${deleting}?`}>
        <Text size="sm">Results go with it. This cannot be undone.</Text>
        <ErrorAlert error={remove.error} title="Cannot delete" />
        <Group mt="md" justify="end">
          <Button variant="default" onClick={() => setDeleting(null)}>
            Cancel
          </Button>
          <Button color="red" onClick={() => deleting && remove.mutate(deleting)} loading={remove.isPending} data-testid="confirm-delete">
            Delete
          </Button>
        </Group>
      </Modal>
      <Table data-testid="versions">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Version</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th>Key metrics</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Duration</Table.Th>
            <Table.Th>Pool</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((v) => (
            <Table.Tr key={v.name} data-version={v.name}>
              <Table.Td>
                <Anchor component={Link} to={`/jobs/${enc(job)}/versions/${v.name}`}>
                  {v.name}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <StateBadge state={v.state} />
                {v.queuePosition != null && (
                  <Text span size="xs" c="dimmed">
                    {" "}
                    #{v.queuePosition}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>{keyMetrics(v.metrics)}</Table.Td>
              <Table.Td>{formatTime(v.createdAt)}</Table.Td>
              <Table.Td>{formatDuration(v.startedAt, v.finishedAt)}</Table.Td>
              <Table.Td>{v.pool}</Table.Td>
              <Table.Td>
                <Group gap="xs">
                  {isActive(v.state) && (
                    <Button size="compact-xs" color="orange" variant="light" onClick={() => terminate.mutate(v.name)} aria-label={`Terminate ${v.name}`}>
                      Terminate
                    </Button>
                  )}
                  <Button
                    size="compact-xs"
                    color="red"
                    variant="subtle"
                    disabled={isActive(v.state)}
                    onClick={() => setDeleting(v.name)}
                    aria-label={`Delete ${v.name}`}
                  >
                    Delete
                  </Button>
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
