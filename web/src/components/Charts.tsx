// Charts from an evaluation's stored metrics (computed on the server, never from samples).
import { Card, SimpleGrid, Text } from "@mantine/core";
import { BarChart, HeatmapChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import ReactEChartsCore from "echarts-for-react/lib/core";
import { AuthImage } from "./AuthImage";
import { isNumber } from "../lib/format";

type Metrics = Record<string, unknown>;

// Only the parts of ECharts these charts use (a third of the whole library).
echarts.use([BarChart, HeatmapChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

function ReactECharts(props: { option: object; style?: React.CSSProperties }) {
  return <ReactEChartsCore echarts={echarts} {...props} />;
}

function perClass(m: Metrics): Record<string, Record<string, number>> | null {
  const pc = m.per_class;
  return pc && typeof pc === "object" && !Array.isArray(pc) ? (pc as Record<string, Record<string, number>>) : null;
}

export function ConfusionMatrix({ metrics }: { metrics: Metrics }) {
  const cm = metrics.confusion_matrix;
  if (!Array.isArray(cm) || !cm.length) return null;
  const rows = cm as number[][];
  const labels = Object.keys(perClass(metrics) ?? {});
  const names = labels.length === rows.length ? labels : rows.map((_, i) => String(i));
  const data: [number, number, number][] = [];
  let max = 0;
  rows.forEach((row, t) =>
    row.forEach((v, p) => {
      data.push([p, t, v]);
      max = Math.max(max, v);
    }),
  );
  const option = {
    tooltip: { formatter: (x: { value: number[] }) => `true ${names[x.value[1]]}, predicted ${names[x.value[0]]}: ${x.value[2]}` },
    grid: { left: 60, right: 20, top: 10, bottom: 60 },
    xAxis: { type: "category", data: names, name: "predicted", nameLocation: "middle", nameGap: 30 },
    yAxis: { type: "category", data: names, name: "true", inverse: true, nameLocation: "middle", nameGap: 40 },
    visualMap: { min: 0, max: Math.max(1, max), show: false, inRange: { color: ["#f8f9fa", "#1c7ed6"] } },
    series: [{ type: "heatmap", data, label: { show: names.length <= 20 } }],
  };
  return (
    <Card withBorder data-testid="confusion-matrix">
      <Text fw={600} size="sm">
        Confusion matrix
      </Text>
      <ReactECharts option={option} style={{ height: 360 }} />
    </Card>
  );
}

export function PerClassBars({ metrics }: { metrics: Metrics }) {
  const pc = perClass(metrics);
  if (!pc) return null;
  const names = Object.keys(pc);
  const keys = ["precision", "recall", "f1", "AP", "iou", "IoU"].filter((k) => names.some((n) => isNumber(pc[n]?.[k])));
  if (!keys.length) return null;
  const option = {
    tooltip: { trigger: "axis" },
    legend: { data: keys },
    grid: { left: 40, right: 10, top: 30, bottom: 30 },
    xAxis: { type: "category", data: names },
    yAxis: { type: "value", max: 1 },
    series: keys.map((k) => ({ name: k, type: "bar", data: names.map((n) => pc[n]?.[k] ?? null) })),
  };
  return (
    <Card withBorder data-testid="per-class">
      <Text fw={600} size="sm">
        Per class
      </Text>
      <ReactECharts option={option} style={{ height: 300 }} />
    </Card>
  );
}

export function JudgeHistogram({ metrics }: { metrics: Metrics }) {
  const dist = metrics["judge.distribution"];
  if (!dist || typeof dist !== "object") return null;
  const entries = Object.entries(dist as Record<string, number>).sort((a, b) => Number(a[0]) - Number(b[0]));
  const option = {
    tooltip: {},
    grid: { left: 40, right: 10, top: 10, bottom: 30 },
    xAxis: { type: "category", data: entries.map((e) => e[0]), name: "score" },
    yAxis: { type: "value" },
    series: [{ type: "bar", data: entries.map((e) => e[1]) }],
  };
  return (
    <Card withBorder data-testid="judge-histogram">
      <Text fw={600} size="sm">
        Judge scores
      </Text>
      <ReactECharts option={option} style={{ height: 260 }} />
    </Card>
  );
}

export function PerTurnBars({ metrics }: { metrics: Metrics }) {
  const turns: Record<string, Record<string, number>> = {};
  for (const [k, v] of Object.entries(metrics)) {
    const m = /^turn_(\d+)\.(.+)\.accuracy$/.exec(k);
    if (m && isNumber(v)) (turns[m[2]] ??= {})[m[1]] = v;
  }
  const scorers = Object.keys(turns);
  if (!scorers.length) return null;
  const ks = [...new Set(scorers.flatMap((s) => Object.keys(turns[s])))].sort((a, b) => Number(a) - Number(b));
  const option = {
    tooltip: { trigger: "axis" },
    legend: { data: scorers },
    grid: { left: 40, right: 10, top: 30, bottom: 30 },
    xAxis: { type: "category", data: ks.map((k) => `turn ${k}`) },
    yAxis: { type: "value", max: 1 },
    series: scorers.map((s) => ({ name: s, type: "bar", data: ks.map((k) => turns[s][k] ?? null) })),
  };
  return (
    <Card withBorder data-testid="per-turn">
      <Text fw={600} size="sm">
        Accuracy per turn
      </Text>
      <ReactECharts option={option} style={{ height: 260 }} />
    </Card>
  );
}

/** Pictures the evaluator drew on the server (PR curves, ...), fetched with the API key. */
export function ArtifactImage({ evaluationId, name }: { evaluationId: string; name: string }) {
  const url = `/api/v1/evaluations/${encodeURIComponent(evaluationId)}/artifacts/${name.split("/").map(encodeURIComponent).join("/")}`;
  return (
    <Card withBorder data-testid="artifact-image">
      <Text fw={600} size="sm">
        {name}
      </Text>
      <AuthImage url={url} name={name} style={{ maxWidth: "100%" }} />
    </Card>
  );
}

export function Charts({
  metrics,
  evaluationId,
  artifacts,
}: {
  metrics: Metrics | null | undefined;
  evaluationId?: string | null;
  artifacts?: { name: string }[];
}) {
  if (!metrics) return null;
  // Pictures whose data is not among the stored metrics (PR curves are drawn at merge).
  const pictures = (artifacts ?? []).filter((a) => /pr_curves?\.png$|worst_samples\.png$/.test(a.name));
  return (
    <SimpleGrid cols={{ base: 1, lg: 2 }}>
      <ConfusionMatrix metrics={metrics} />
      <PerClassBars metrics={metrics} />
      <JudgeHistogram metrics={metrics} />
      <PerTurnBars metrics={metrics} />
      {evaluationId && pictures.map((a) => <ArtifactImage key={a.name} evaluationId={evaluationId} name={a.name} />)}
    </SimpleGrid>
  );
}
