// A task's log followed live: the logs route read from the last byte offset until the
// version has ended and everything was read; it stays on the page afterwards.
import { Group, SegmentedControl, Text } from "@mantine/core";
import { useEffect, useRef, useState } from "react";
import { api, enc } from "../api";
import { messageOf } from "../lib/errors";

interface Chunk {
  data: string;
  nextOffset: number;
  complete: boolean;
}

const MAX_CHARS = 2_000_000; // keep the page light: older output is dropped past this

export function Logs({ job, version, tasks }: { job: string; version: string; tasks: number[] }) {
  const [task, setTask] = useState(0);
  const [text, setText] = useState("");
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let gone = false;
    let offset = 0;
    setText("");
    setDone(false);
    setError(null);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    (async () => {
      while (!gone) {
        try {
          const c = await api<Chunk>(`/jobs/${enc(job)}/versions/${enc(version)}/logs?task=${task}&offset=${offset}`);
          if (gone) return;
          offset = c.nextOffset;
          if (c.data) setText((t) => (t + c.data).slice(-MAX_CHARS));
          if (c.complete) {
            setDone(true);
            return;
          }
          setError(null);
          if (!c.data) await sleep(1000);
        } catch (e) {
          if (gone) return;
          setError(messageOf(e));
          await sleep(3000);
        }
      }
    })();
    return () => {
      gone = true;
    };
  }, [job, version, task]);

  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [text]);

  return (
    <div>
      <Group justify="space-between" mb={4}>
        {tasks.length > 1 ? (
          <SegmentedControl
            size="xs"
            value={String(task)}
            onChange={(v) => setTask(Number(v))}
            data={tasks.map((t) => ({ value: String(t), label: `task ${t}` }))}
          />
        ) : (
          <span />
        )}
        <Text size="xs" c="dimmed" data-testid="log-status">
          {done ? "complete" : "following…"}
          {error ? ` · ${error}` : ""}
        </Text>
      </Group>
      <div className="log-view" ref={box} data-testid="log">
        {text || (done ? "(empty log)" : "")}
      </div>
    </div>
  );
}
