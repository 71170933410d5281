// Folders -> assets -> branches, tags, commits -> files and the evaluations of a commit.
import {
  Anchor,
  Button,
  Card,
  Grid,
  Group,
  NavLink,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, enc, type Evaluation } from "../api";
import { ErrorAlert, Loading, StateBadge, short } from "../components/common";
import { messageOf } from "../lib/errors";
import { formatBytes, formatMetric, formatTime, scalarMetrics } from "../lib/format";

interface Folder {
  type: string;
  name: string;
  owner: string;
  assets: number;
}
interface Asset {
  id: string;
  type: string;
  folder: string;
  name: string;
  path: string;
}
interface Pointer {
  name: string;
  commit: string;
}
interface Commit {
  id: string;
  message: string;
  author: string;
  createdAt: string;
  fileCount: number;
  totalSize: number;
}

const TYPES = ["model", "dataset", "code"];

export function AssetsPage() {
  const { id } = useParams();
  const [type, setType] = useState("model");
  const [folder, setFolder] = useState<string | null>(null);
  const folders = useQuery({ queryKey: ["folders", type], queryFn: () => api<Folder[]>(`/folders?type=${type}`) });
  const assets = useQuery({
    queryKey: ["assets", type, folder],
    enabled: !!folder,
    queryFn: () => api<Asset[]>(`/assets?type=${type}&folder=${enc(folder!)}`),
  });
  return (
    <Grid>
      <Grid.Col span={3}>
        <Stack gap="xs">
          <Title order={3}>Assets</Title>
          <SegmentedControl size="xs" data={TYPES} value={type} onChange={(t) => (setType(t), setFolder(null))} />
          <ErrorAlert error={folders.error} />
          {(folders.data ?? []).map((f) => (
            <div key={f.name}>
              <NavLink label={`${f.name} (${f.assets})`} active={folder === f.name} onClick={() => setFolder(f.name)} />
              {folder === f.name &&
                (assets.data ?? []).map((a) => (
                  <NavLink key={a.id} component={Link} to={`/assets/${a.id}`} label={a.name} active={a.id === id} pl="xl" />
                ))}
            </div>
          ))}
          {folders.data?.length === 0 && (
            <Text size="sm" c="dimmed">
              No {type} folders.
            </Text>
          )}
        </Stack>
      </Grid.Col>
      <Grid.Col span={9}>{id ? <AssetView key={id} id={id} /> : <Text c="dimmed">Pick an asset.</Text>}</Grid.Col>
    </Grid>
  );
}

/** Create a branch or a tag at the commit shown (POST /assets/{id}/branches or /tags). */
function NewRef({ id, at }: { id: string; at: string | null }) {
  const client = useQueryClient();
  const [name, setName] = useState("");
  const create = useMutation({
    mutationFn: (kind: "branch" | "tag") =>
      kind === "branch"
        ? api(`/assets/${enc(id)}/branches`, { method: "POST", body: { name, from: at ?? "main" } })
        : api(`/assets/${enc(id)}/tags`, { method: "POST", body: { name, ref: at ?? "main" } }),
    onSuccess: (_, kind) => {
      setName("");
      client.invalidateQueries({ queryKey: [kind === "branch" ? "branches" : "tags", id] });
    },
  });
  return (
    <Group align="start" gap="xs">
      <TextInput
        size="xs"
        placeholder="new branch or tag name"
        aria-label="New branch or tag name"
        value={name}
        onChange={(e) => setName(e.currentTarget.value)}
        error={create.error ? messageOf(create.error) : undefined}
      />
      <Button size="xs" variant="default" disabled={!name} onClick={() => create.mutate("branch")}>
        Create branch at {short(at)}
      </Button>
      <Button size="xs" variant="default" disabled={!name} onClick={() => create.mutate("tag")}>
        Create tag at {short(at)}
      </Button>
    </Group>
  );
}

function AssetView({ id }: { id: string }) {
  const navigate = useNavigate();
  const [rev, setRev] = useState("main");
  const [commit, setCommit] = useState<string | null>(null);
  const asset = useQuery({ queryKey: ["asset", id], queryFn: () => api<Asset>(`/assets/${enc(id)}`) });
  const branches = useQuery({ queryKey: ["branches", id], queryFn: () => api<Pointer[]>(`/assets/${enc(id)}/branches`) });
  const tags = useQuery({ queryKey: ["tags", id], queryFn: () => api<Pointer[]>(`/assets/${enc(id)}/tags`) });
  const commits = useQuery({
    queryKey: ["commits", id, rev],
    queryFn: () => api<Commit[]>(`/assets/${enc(id)}/commits?rev=${enc(rev)}`),
  });
  const at = commit ?? commits.data?.[0]?.id ?? null;
  const files = useQuery({
    queryKey: ["files", id, at],
    enabled: !!at,
    queryFn: () => api<{ path: string; size: number }[]>(`/assets/${enc(id)}/files?rev=${enc(at!)}`),
  });
  const ref = asset.data && at ? `${asset.data.path}:${at}` : null;
  const evals = useQuery({
    queryKey: ["evaluations-of", ref],
    enabled: !!ref && asset.data?.type !== "code",
    queryFn: () => api<Evaluation[]>(`/evaluations?ref=${enc(ref!)}&limit=100`),
  });
  if (asset.isLoading) return <Loading />;
  if (!asset.data) return <ErrorAlert error={asset.error} />;
  const a = asset.data;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>{a.path}</Title>
        {a.type !== "code" && (
          <Button
            onClick={() => navigate(`/create?${a.type === "model" ? "model" : "dataset"}=${enc(`${a.folder}/${a.name}:${at ?? rev}`)}`)}
          >
            Evaluate this
          </Button>
        )}
      </Group>
      <Group>
        <Text size="sm">Branches:</Text>
        {(branches.data ?? []).map((b) => (
          <Button key={b.name} size="compact-xs" variant={rev === b.name ? "filled" : "default"} onClick={() => (setRev(b.name), setCommit(null))}>
            {b.name}
          </Button>
        ))}
        <Text size="sm">Tags:</Text>
        {(tags.data ?? []).map((t) => (
          <Button key={t.name} size="compact-xs" variant={rev === t.name ? "filled" : "default"} onClick={() => (setRev(t.name), setCommit(null))}>
            {t.name}
          </Button>
        ))}
      </Group>
      <NewRef id={id} at={at} />
      <Card withBorder>
        <Text fw={600}>Commits of {rev}</Text>
        <ErrorAlert error={commits.error} />
        <Table>
          <Table.Tbody>
            {(commits.data ?? []).map((c) => (
              <Table.Tr key={c.id} style={{ background: c.id === at ? "#e7f5ff" : undefined, cursor: "pointer" }} onClick={() => setCommit(c.id)}>
                <Table.Td>{short(c.id)}</Table.Td>
                <Table.Td>{c.message}</Table.Td>
                <Table.Td>{c.author}</Table.Td>
                <Table.Td>{formatTime(c.createdAt)}</Table.Td>
                <Table.Td>
                  {c.fileCount} files, {formatBytes(c.totalSize)}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>
      <Card withBorder>
        <Text fw={600}>Files at {short(at)}</Text>
        <Table>
          <Table.Tbody>
            {(files.data ?? []).slice(0, 500).map((f) => (
              <Table.Tr key={f.path}>
                <Table.Td>{f.path}</Table.Td>
                <Table.Td>{formatBytes(f.size)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {(files.data?.length ?? 0) > 500 && <Text size="xs">… {files.data!.length - 500} more</Text>}
      </Card>
      {a.type !== "code" && (
        <Card withBorder>
          <Text fw={600}>Evaluations of commit {short(at)}</Text>
          <ErrorAlert error={evals.error} />
          <Table>
            <Table.Tbody>
              {(evals.data ?? []).map((e) => (
                <Table.Tr key={e.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/evaluations/${e.id}`}>
                      {short(e.id)}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <StateBadge state={e.state} />
                  </Table.Td>
                  <Table.Td>{a.type === "model" ? e.datasetRef : e.modelRef}</Table.Td>
                  <Table.Td>
                    {scalarMetrics(e.results?.metric)
                      .slice(0, 3)
                      .map(([k, v]) => `${k} ${formatMetric(v)}`)
                      .join(", ")}
                  </Table.Td>
                </Table.Tr>
              ))}
              {evals.data?.length === 0 && (
                <Table.Tr>
                  <Table.Td>None yet.</Table.Td>
                </Table.Tr>
              )}
            </Table.Tbody>
          </Table>
        </Card>
      )}
    </Stack>
  );
}
