import { Alert, Badge, Center, Loader } from "@mantine/core";
import { messageOf } from "../lib/errors";
import { stateColor } from "../lib/format";

export function StateBadge({ state }: { state: string }) {
  return (
    <Badge color={stateColor(state)} variant="light" data-testid="state-badge" data-state={state}>
      {state}
    </Badge>
  );
}

export function ErrorAlert({ error, title = "Error" }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <Alert color="red" title={title} role="alert" data-testid="error">
      {messageOf(error)}
    </Alert>
  );
}

export function Loading() {
  return (
    <Center p="md">
      <Loader size="sm" />
    </Center>
  );
}

export function short(id: string | null | undefined, n = 8): string {
  return id ? id.slice(0, n) : "—";
}
