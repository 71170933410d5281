// Folders -> assets -> branches, tags, commits -> files and the evaluations of a commit.
import {
  Anchor,
  Button,
  Card,
  FileInput,
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
import { api, enc, storedKey, type Evaluation } from "../api";
import { ErrorAlert, Loading, StateBadge, short } from "../components/common";
import { errorFromBody, messageOf } from "../lib/errors";
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

async function sha256(file: File): Promise<string> {
  if (!globalThis.crypto?.subtle) {
    throw new Error(
      "this browser offers no SHA-256 here (pages over plain http other than localhost): use `assay commit`",
    );
  }
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Upload files as a new commit on a branch: hash them, upload only what the server lacks
 * (POST /blobs/missing, PUT /blobs/{sha256}), then commit (POST /assets/{id}/commits). */
function Upload({ id, branch, onDone }: { id: string; branch: string; onDone: () => void }) {
  const [files, setFiles] = useState<File[]>([]);
  const [message, setMessage] = useState("");
  const [status, setStatus] = useState<string | null>(null);
  const upload = useMutation({
    mutationFn: async () => {
      setStatus("hashing…");
      const entries = await Promise.all(files.map(async (f) => ({ file: f, sha256: await sha256(f) })));
      const { missing } = await api<{ missing: string[] }>("/blobs/missing", {
        method: "POST",
        body: { hashes: entries.map((e) => e.sha256) },
      });
      const key = storedKey();
      for (const [i, e] of entries.filter((x) => missing.includes(x.sha256)).entries()) {
        setStatus(`uploading ${i + 1} of ${missing.length}…`);
        const r = await fetch(`/api/v1/blobs/${e.sha256}`, {
          method: "PUT",
          headers: key ? { Authorization: `Bearer ${key}` } : {},
          body: e.file,
        });
        if (!r.ok) throw errorFromBody(r.status, await r.json().catch(() => null), r.statusText);
      }
      return api<{ id: string }>(`/assets/${enc(id)}/commits`, {
        method: "POST",
        body: {
          branch,
          message,
          add: entries.map((e) => ({
            path: e.file.webkitRelativePath || e.file.name,
            sha256: e.sha256,
            size: e.file.size,
          })),
        },
      });
    },
    onSuccess: (c) => {
      setStatus(`committed ${short(c.id)}`);
      setFiles([]);
      setMessage("");
      onDone();
    },
    onError: () => setStatus(null),
  });
  return (
    <Group align="end" gap="xs">
      <FileInput
        size="xs"
        multiple
        label={`Upload files as a new commit on ${branch}`}
        placeholder="choose files"
        value={files}
        onChange={setFiles}
        w={260}
        data-testid="upload-files"
      />
      <TextInput
        size="xs"
        label="Commit message"
        value={message}
        onChange={(e) => setMessage(e.currentTarget.value)}
        error={upload.error ? messageOf(upload.error) : undefined}
      />
      <Button size="xs" disabled={!files.length || !message} onClick={() => upload.mutate()} loading={upload.isPending}>
        Commit
      </Button>
      {status && (
        <Text size="xs" data-testid="upload-status">
          {status}
        </Text>
      )}
    </Group>
  );
}

function AssetView({ id }: { id: string }) {
  const navigate = useNavigate();
  const client = useQueryClient();
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
      {(branches.data ?? []).some((b) => b.name === rev) && (
        <Upload
          id={id}
          branch={rev}
          onDone={() => {
            setCommit(null);
            client.invalidateQueries({ queryKey: ["commits", id] });
            client.invalidateQueries({ queryKey: ["branches", id] });
          }}
        />
      )}
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
