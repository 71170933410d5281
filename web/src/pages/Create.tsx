// Create an evaluation job (its first version), or a new version of a job pre-filled from
// its latest one (?job=NAME). Errors from the API show next to the field they concern.
import {
  Alert,
  Button,
  Card,
  Checkbox,
  Code,
  Group,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Textarea,
  Title,
} from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { api, enc, type Pool, type Version } from "../api";
import { fieldErrors, messageOf } from "../lib/errors";
import { formatMetric } from "../lib/format";

export const TYPES = ["custom", "image-classification", "object-detection", "semantic-segmentation", "llm"];

/** The parameters each built-in type understands, offered as fields. */
const TYPE_PARAMS: Record<string, { key: string; label: string; options?: string[]; hint?: string }[]> = {
  "image-classification": [
    { key: "batch_size", label: "Batch size" },
    { key: "shards", label: "Shards (parallel tasks)" },
  ],
  "object-detection": [
    { key: "batch_size", label: "Batch size" },
    { key: "shards", label: "Shards (parallel tasks)" },
  ],
  "semantic-segmentation": [
    { key: "batch_size", label: "Batch size" },
    { key: "shards", label: "Shards (parallel tasks)" },
  ],
  llm: [
    { key: "scoring", label: "Scoring methods", hint: "comma-separated: exact, prefix, contains, regex, judge" },
    { key: "judge_endpoint", label: "Judge endpoint" },
    { key: "keywords_mode", label: "Keywords mode", options: ["all", "any"] },
    { key: "history", label: "History (multi-turn)", options: ["reference", "model"] },
    { key: "inference", label: "Inference mode", options: ["online", "batch"] },
    { key: "max_tokens", label: "Max tokens" },
    { key: "max_cost", label: "Max cost" },
    { key: "shards", label: "Shards" },
  ],
  custom: [],
};

interface Form {
  name: string;
  description: string;
  type: string;
  model: string;
  modelPath: string;
  dataset: string;
  dataPath: string;
  endpoint: string;
  code: string;
  launch: string;
  pool: string;
  cpu: string;
  memory: string;
  gpu: string;
  timeout: string;
  priority: string;
  debug: boolean;
  typeParams: Record<string, string>;
  extra: { key: string; value: string }[];
}

const EMPTY: Form = {
  name: "",
  description: "",
  type: "image-classification",
  model: "",
  modelPath: "",
  dataset: "",
  dataPath: "",
  endpoint: "",
  code: "",
  launch: "",
  pool: "",
  cpu: "1",
  memory: "",
  gpu: "0",
  timeout: "3600",
  priority: "0",
  debug: false,
  typeParams: {},
  extra: [],
};

const FIELDS = [
  "name",
  "description",
  "type",
  "model",
  "model_path",
  "dataset",
  "data_path",
  "endpoint",
  "code",
  "launch",
  "pool",
  "cpu",
  "memory",
  "gpu",
  "timeout",
  "priority",
  "debug",
  "params",
];

/** A parameter as typed: numbers and booleans as such, the rest as text. */
export function paramValue(text: string): string | number | boolean {
  const t = text.trim();
  if (t === "true" || t === "false") return t === "true";
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t)) return Number(t);
  return t;
}

/** A number field as typed: empty left out, a number as such, anything else sent as text
 * so that the API says what is wrong with it next to the field. */
function num(text: string): number | string | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  return Number.isFinite(Number(t)) ? Number(t) : t;
}

function body(f: Form, forVersion: boolean): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f.typeParams)) if (v.trim() !== "") params[k] = paramValue(v);
  for (const { key, value } of f.extra) if (key.trim()) params[key.trim()] = paramValue(value);
  const out: Record<string, unknown> = {
    model: f.model || undefined,
    modelPath: f.modelPath || undefined,
    dataset: f.dataset || undefined,
    dataPath: f.dataPath || undefined,
    endpoint: f.endpoint || undefined,
    code: f.code || undefined,
    launch: f.launch || undefined,
    pool: f.pool || undefined,
    cpu: num(f.cpu),
    memory: f.memory.trim() || undefined,
    gpu: num(f.gpu),
    timeout: num(f.timeout),
    priority: num(f.priority),
    debug: f.debug,
    params,
  };
  if (!forVersion) Object.assign(out, { name: f.name, description: f.description, type: f.type });
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

function fromVersion(v: Version, description = ""): Form {
  const known = new Set((TYPE_PARAMS[v.type] ?? []).map((p) => p.key));
  const typeParams: Record<string, string> = {};
  const extra: { key: string; value: string }[] = [];
  for (const [k, val] of Object.entries(v.params ?? {})) {
    if (known.has(k)) typeParams[k] = String(val);
    else extra.push({ key: k, value: String(val) });
  }
  return {
    ...EMPTY,
    name: v.job,
    description,
    type: v.type,
    model: v.model ?? "",
    modelPath: v.modelPath ?? "",
    dataset: v.dataset ?? "",
    dataPath: v.dataPath ?? "",
    endpoint: v.endpoint ?? "",
    code: v.code ?? "",
    launch: v.launch ?? "",
    pool: v.pool ?? "",
    cpu: String(v.cpu),
    memory: v.memory ? String(v.memory) : "",
    gpu: String(v.gpu),
    timeout: String(v.timeout),
    priority: String(v.priority),
    debug: v.debug,
    typeParams,
    extra,
  };
}

export function CreatePage() {
  const [search] = useSearchParams();
  const job = search.get("job");
  const navigate = useNavigate();
  const [f, setF] = useState<Form>(() => ({
    ...EMPTY,
    model: search.get("model") ?? "",
    dataset: search.get("dataset") ?? "",
    type: search.get("type") ?? EMPTY.type,
  }));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [estimate, setEstimate] = useState<Record<string, unknown> | null>(null);
  const [estimateError, setEstimateError] = useState<string | null>(null);

  const pools = useQuery({ queryKey: ["pools"], queryFn: () => api<Pool[]>("/pools") });
  const latest = useQuery({
    queryKey: ["job-latest", job],
    enabled: !!job,
    queryFn: async () => {
      const versions = await api<Version[]>(`/jobs/${enc(job!)}/versions`);
      return versions[versions.length - 1];
    },
  });
  useEffect(() => {
    if (latest.data) setF(fromVersion(latest.data));
  }, [latest.data]);

  const set = <K extends keyof Form>(k: K, v: Form[K]) => setF((old) => ({ ...old, [k]: v }));
  const err = (k: string) => errors[k];
  const errorProps = (k: string) => ({ "data-testid": `error-${k}` }) as Record<string, string>;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const v = job
        ? await api<Version>(`/jobs/${enc(job)}/versions`, { method: "POST", body: body(f, true) })
        : await api<Version>("/jobs", { method: "POST", body: body(f, false) });
      navigate(`/jobs/${enc(v.job)}/versions/${v.name}`);
    } catch (ex) {
      const params = (TYPE_PARAMS[f.type] ?? []).map((p) => `params.${p.key}`);
      setErrors(fieldErrors(messageOf(ex), [...FIELDS, ...params]));
    } finally {
      setBusy(false);
    }
  }

  async function runEstimate() {
    setEstimate(null);
    setEstimateError(null);
    try {
      const b = body(f, true);
      setEstimate(
        await api<Record<string, unknown>>(`/endpoints/${enc(f.endpoint)}/estimate`, {
          method: "POST",
          body: { dataset: f.dataset, params: b.params },
        }),
      );
    } catch (ex) {
      setEstimateError(messageOf(ex));
    }
  }

  const llm = f.type === "llm";
  const custom = f.type === "custom";
  return (
    <form onSubmit={submit} noValidate>
      <Stack maw={900}>
        <Title order={2}>{job ? `New version of ${job}` : "Create evaluation"}</Title>
        {errors._form && (
          <Alert color="red" title="Cannot create" role="alert" data-testid="error-form">
            {errors._form}
          </Alert>
        )}
        <Card withBorder>
          <SimpleGrid cols={2}>
            <TextInput
              label="Name"
              name="name"
              value={f.name}
              disabled={!!job}
              onChange={(e) => set("name", e.currentTarget.value)}
              error={err("name")}
              errorProps={errorProps("name")}
              description="letters, digits, '-', '_'"
            />
            <Select
              label="Type"
              data={TYPES}
              value={f.type}
              disabled={!!job}
              onChange={(v) => set("type", v ?? "custom")}
              error={err("type")}
              allowDeselect={false}
            />
          </SimpleGrid>
          <Textarea
            label="Description"
            value={f.description}
            disabled={!!job}
            onChange={(e) => set("description", e.currentTarget.value)}
            error={err("description")}
            autosize
            minRows={1}
          />
        </Card>
        <Card withBorder>
          <Text fw={600}>What is evaluated</Text>
          <SimpleGrid cols={2}>
            {llm && (
              <TextInput
                label="Endpoint"
                name="endpoint"
                value={f.endpoint}
                onChange={(e) => set("endpoint", e.currentTarget.value)}
                error={err("endpoint")}
                errorProps={errorProps("endpoint")}
                description="an inference endpoint (or give a model below)"
              />
            )}
            <TextInput
              label="Model version"
              name="model"
              placeholder="folder/model:branch"
              value={f.model}
              onChange={(e) => set("model", e.currentTarget.value)}
              error={err("model")}
              errorProps={errorProps("model")}
              description="a model ref: FOLDER/NAME[:branch|tag|commit]"
            />
            <TextInput
              label="or model path"
              value={f.modelPath}
              onChange={(e) => set("modelPath", e.currentTarget.value)}
              error={err("model_path")}
              description="a storage location the server allows"
            />
            <TextInput
              label="Dataset version"
              name="dataset"
              placeholder="folder/dataset:main (or a preset)"
              value={f.dataset}
              onChange={(e) => set("dataset", e.currentTarget.value)}
              error={err("dataset")}
              errorProps={errorProps("dataset")}
            />
            <TextInput
              label="or data path"
              value={f.dataPath}
              onChange={(e) => set("dataPath", e.currentTarget.value)}
              error={err("data_path")}
            />
          </SimpleGrid>
        </Card>
        {custom && (
          <Card withBorder>
            <Text fw={600}>Evaluation code</Text>
            <SimpleGrid cols={2}>
              <TextInput
                label="Code"
                name="code"
                placeholder="scripts/eval:main"
                value={f.code}
                onChange={(e) => set("code", e.currentTarget.value)}
                error={err("code")}
                errorProps={errorProps("code")}
              />
              <TextInput
                label="Launch file"
                name="launch"
                placeholder="eval.py"
                value={f.launch}
                onChange={(e) => set("launch", e.currentTarget.value)}
                error={err("launch")}
                errorProps={errorProps("launch")}
              />
            </SimpleGrid>
          </Card>
        )}
        <Card withBorder>
          <Text fw={600}>Evaluator settings and run parameters</Text>
          <SimpleGrid cols={2}>
            {(TYPE_PARAMS[f.type] ?? []).map((p) =>
              p.options ? (
                <Select
                  key={p.key}
                  label={p.label}
                  data={p.options}
                  clearable
                  value={f.typeParams[p.key] || null}
                  onChange={(v) => set("typeParams", { ...f.typeParams, [p.key]: v ?? "" })}
                  error={err(`params.${p.key}`)}
                />
              ) : (
                <TextInput
                  key={p.key}
                  label={p.label}
                  description={p.hint}
                  value={f.typeParams[p.key] ?? ""}
                  onChange={(e) => set("typeParams", { ...f.typeParams, [p.key]: e.currentTarget.value })}
                  error={err(`params.${p.key}`)}
                  errorProps={errorProps(`params.${p.key}`)}
                />
              ),
            )}
          </SimpleGrid>
          <Table mt="sm" data-testid="run-params">
            <Table.Tbody>
              <Table.Tr>
                <Table.Td>
                  <Code>model_url</Code>
                </Table.Td>
                <Table.Td>
                  <Text size="xs" c="dimmed">
                    filled in by Assay: where the model version is materialised
                  </Text>
                </Table.Td>
              </Table.Tr>
              <Table.Tr>
                <Table.Td>
                  <Code>data_url</Code>
                </Table.Td>
                <Table.Td>
                  <Text size="xs" c="dimmed">
                    filled in by Assay: where the dataset version is materialised
                  </Text>
                </Table.Td>
              </Table.Tr>
              {f.extra.map((row, i) => (
                <Table.Tr key={i}>
                  <Table.Td>
                    <TextInput
                      size="xs"
                      placeholder="name"
                      aria-label={`Parameter ${i + 1} name`}
                      value={row.key}
                      onChange={(e) => {
                        const extra = [...f.extra];
                        extra[i] = { ...row, key: e.currentTarget.value };
                        set("extra", extra);
                      }}
                    />
                  </Table.Td>
                  <Table.Td>
                    <Group gap="xs">
                      <TextInput
                        size="xs"
                        placeholder="value"
                        aria-label={`Parameter ${i + 1} value`}
                        value={row.value}
                        onChange={(e) => {
                          const extra = [...f.extra];
                          extra[i] = { ...row, value: e.currentTarget.value };
                          set("extra", extra);
                        }}
                      />
                      <Button size="compact-xs" variant="subtle" onClick={() => set("extra", f.extra.filter((_, j) => j !== i))}>
                        remove
                      </Button>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {err("params") && (
            <Text c="red" size="xs" data-testid="error-params">
              {err("params")}
            </Text>
          )}
          <Group>
            <Button size="xs" variant="default" onClick={() => set("extra", [...f.extra, { key: "", value: "" }])}>
              Add parameter
            </Button>
          </Group>
        </Card>
        <Card withBorder>
          <Text fw={600}>Resources</Text>
          <SimpleGrid cols={3}>
            <Select
              label="Resource pool"
              data={(pools.data ?? []).map((p) => ({
                value: p.name,
                label: `${p.name} (${p.cpu - p.cpuUsed}/${p.cpu} CPU free, ${p.queued} queued)`,
              }))}
              placeholder="default"
              clearable
              value={f.pool || null}
              onChange={(v) => set("pool", v ?? "")}
              error={err("pool")}
            />
            <TextInput label="CPU" name="cpu" value={f.cpu} onChange={(e) => set("cpu", e.currentTarget.value)} error={err("cpu")} />
            <TextInput
              label="Memory"
              name="memory"
              placeholder="e.g. 2GiB"
              value={f.memory}
              onChange={(e) => set("memory", e.currentTarget.value)}
              error={err("memory")}
            />
            <TextInput label="GPU" name="gpu" value={f.gpu} onChange={(e) => set("gpu", e.currentTarget.value)} error={err("gpu")} />
            <TextInput
              label="Timeout (s)"
              name="timeout"
              inputMode="numeric"
              value={f.timeout}
              onChange={(e) => set("timeout", e.currentTarget.value)}
              error={err("timeout")}
              errorProps={errorProps("timeout")}
              description="resources are released and the run ends after this"
            />
            <TextInput
              label="Priority"
              name="priority"
              value={f.priority}
              onChange={(e) => set("priority", e.currentTarget.value)}
              error={err("priority")}
            />
          </SimpleGrid>
          <Checkbox
            mt="sm"
            label="Debug mode (keep the work directory)"
            checked={f.debug}
            onChange={(e) => set("debug", e.currentTarget.checked)}
          />
        </Card>
        {llm && (
          <Card withBorder>
            <Group>
              <Button variant="default" onClick={runEstimate} disabled={!f.endpoint || !f.dataset}>
                Estimate tokens and cost
              </Button>
              {estimateError && (
                <Text c="red" size="sm" data-testid="estimate-error">
                  {estimateError}
                </Text>
              )}
            </Group>
            {estimate && (
              <Table mt="xs" data-testid="estimate">
                <Table.Tbody>
                  {Object.entries(estimate).map(([k, v]) => (
                    <Table.Tr key={k}>
                      <Table.Td>{k}</Table.Td>
                      <Table.Td>{typeof v === "object" ? JSON.stringify(v) : formatMetric(v)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Card>
        )}
        <Group>
          <Button type="submit" loading={busy} data-testid="submit">
            {job ? "Create version" : "Create"}
          </Button>
          {job && latest.error && <Text c="red">{messageOf(latest.error)}</Text>}
        </Group>
      </Stack>
    </form>
  );
}
