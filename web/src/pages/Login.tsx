import { Button, Card, Center, PasswordInput, Stack, Text, Title } from "@mantine/core";
import { useState, type FormEvent } from "react";
import { useAuth } from "../auth";
import { messageOf } from "../lib/errors";

export function LoginPage() {
  const { login } = useAuth();
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(key.trim());
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Center h="100vh">
      <Card withBorder w={420} p="lg">
        <form onSubmit={submit}>
          <Stack>
            <Title order={2}>Assay</Title>
            <Text size="sm" c="dimmed">
              Log in with your API key (`assay user create` prints one; the server's admin key is in
              $ASSAY_HOME/admin.key). It is kept in this browser tab only.
            </Text>
            <PasswordInput
              label="API key"
              name="apiKey"
              value={key}
              onChange={(e) => setKey(e.currentTarget.value)}
              error={error}
              required
            />
            <Button type="submit" loading={busy}>
              Log in
            </Button>
          </Stack>
        </form>
      </Card>
    </Center>
  );
}
