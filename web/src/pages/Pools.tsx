import { Progress, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { api, type JobRow, type Pool } from "../api";
import { ErrorAlert, Loading, StateBadge } from "../components/common";
import { formatBytes } from "../lib/format";

export function PoolsPage() {
  const pools = useQuery({ queryKey: ["pools"], queryFn: () => api<Pool[]>("/pools"), refetchInterval: 3000 });
  const jobs = useQuery({ queryKey: ["jobs"], queryFn: () => api<JobRow[]>("/jobs"), refetchInterval: 3000 });
  const queued = (jobs.data ?? [])
    .map((j) => j.latest)
    .filter((v) => v && v.queuePosition != null)
    .sort((a, b) => (a!.queuePosition ?? 0) - (b!.queuePosition ?? 0));
  if (pools.isLoading) return <Loading />;
  return (
    <Stack>
      <Title order={2}>Pools</Title>
      <ErrorAlert error={pools.error} />
      <Table data-testid="pools">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Pool</Table.Th>
            <Table.Th>Backend</Table.Th>
            <Table.Th>CPU used / capacity</Table.Th>
            <Table.Th>Memory used / capacity</Table.Th>
            <Table.Th>GPU</Table.Th>
            <Table.Th>Running</Table.Th>
            <Table.Th>Queued</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(pools.data ?? []).map((p) => (
            <Table.Tr key={p.name}>
              <Table.Td>{p.name}</Table.Td>
              <Table.Td>{p.backend}</Table.Td>
              <Table.Td>
                {p.cpuUsed} / {p.cpu}
                <Progress value={p.cpu ? (100 * p.cpuUsed) / p.cpu : 0} size="xs" />
              </Table.Td>
              <Table.Td>
                {formatBytes(p.memoryUsed)} / {p.memory ? formatBytes(p.memory) : "unlimited"}
              </Table.Td>
              <Table.Td>
                {p.gpuUsed} / {p.gpu}
              </Table.Td>
              <Table.Td>{p.running}</Table.Td>
              <Table.Td>{p.queued}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Title order={4}>Your queued versions</Title>
      {queued.length === 0 ? (
        <Text size="sm" c="dimmed">
          Nothing of yours is waiting (latest versions of your jobs).
        </Text>
      ) : (
        <Table>
          <Table.Tbody>
            {queued.map((v) => (
              <Table.Tr key={v!.id}>
                <Table.Td>#{v!.queuePosition}</Table.Td>
                <Table.Td>
                  {v!.job}:{v!.name}
                </Table.Td>
                <Table.Td>{v!.pool}</Table.Td>
                <Table.Td>
                  <StateBadge state={v!.state} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
