import { Card, SimpleGrid, Text } from "@mantine/core";
import { formatMetric, scalarMetrics } from "../lib/format";

export function MetricSummary({ metrics }: { metrics: Record<string, unknown> | null | undefined }) {
  const rows = scalarMetrics(metrics);
  if (!rows.length) return null;
  return (
    <SimpleGrid cols={{ base: 2, sm: 4, lg: 6 }} data-testid="metrics">
      {rows.map(([k, v]) => (
        <Card key={k} withBorder p="xs" data-metric={k}>
          <Text size="xs" c="dimmed">
            {k}
          </Text>
          <Text fw={700}>{formatMetric(v)}</Text>
        </Card>
      ))}
    </SimpleGrid>
  );
}

export function Facts({ rows }: { rows: [string, React.ReactNode][] }) {
  return (
    <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing={4} verticalSpacing={2} data-testid="facts">
      {rows.map(([k, v]) => (
        <Text key={k} size="sm">
          <Text span c="dimmed" size="sm">
            {k}:{" "}
          </Text>
          {v ?? "—"}
        </Text>
      ))}
    </SimpleGrid>
  );
}
