// A task's log followed live: server-sent events from the logs/stream route (read with
// fetch() so the key goes in the Authorization header), falling back to polling the logs
// route from the last byte offset if the stream fails; the text stays after the run ended.
import { Group, SegmentedControl, Text } from "@mantine/core";
import { useEffect, useRef, useState } from "react";
import { api, enc, storedKey } from "../api";
import { errorFromBody, messageOf } from "../lib/errors";
import { SseParser, logChunk } from "../lib/sse";

interface Chunk {
  data: string;
  nextOffset: number;
  complete: boolean;
}

const MAX_CHARS = 2_000_000; // keep the page light: older output is dropped past this

export type Transport = "sse" | "poll";

export function Logs({ job, version, tasks }: { job: string; version: string; tasks: number[] }) {
  const [task, setTask] = useState(0);
  const [text, setText] = useState("");
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [transport, setTransport] = useState<Transport>("sse");
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let gone = false;
    let offset = 0;
    const abort = new AbortController();
    setText("");
    setDone(false);
    setError(null);
    setTransport("sse");
    const base = `/api/v1/jobs/${enc(job)}/versions/${enc(version)}`;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const append = (data: string) => {
      if (data) setText((t) => (t + data).slice(-MAX_CHARS));
    };

    // Returns true once the whole log was read (event: end).
    const stream = async (): Promise<boolean> => {
      const key = storedKey();
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      if (key) headers.Authorization = `Bearer ${key}`;
      const res = await fetch(`${base}/logs/stream?task=${task}&offset=${offset}`, { headers, signal: abort.signal });
      if (!res.ok || !res.body) {
        const body = await res.text().catch(() => "");
        let parsed: unknown = body;
        try {
          parsed = JSON.parse(body);
        } catch {
          // keep the text
        }
        throw errorFromBody(res.status, parsed, res.statusText);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done: closed } = await reader.read();
        if (closed) return false;
        for (const e of parser.feed(value)) {
          if (gone) return true;
          const c = logChunk(e);
          if (e.event === "error") throw new Error(e.data);
          if (!c) continue;
          if (c.nextOffset >= offset) {
            append(c.data);
            offset = c.nextOffset;
          }
          setError(null);
          if (e.event === "end") return true;
        }
      }
    };

    const poll = async () => {
      while (!gone) {
        try {
          const c = await api<Chunk>(`/jobs/${enc(job)}/versions/${enc(version)}/logs?task=${task}&offset=${offset}`);
          if (gone) return;
          offset = c.nextOffset;
          append(c.data);
          setError(null);
          if (c.complete) {
            setDone(true);
            return;
          }
          if (!c.data) await sleep(1000);
        } catch (e) {
          if (gone) return;
          setError(messageOf(e));
          await sleep(3000);
        }
      }
    };

    (async () => {
      try {
        if (await stream()) {
          if (!gone) setDone(true);
          return;
        }
      } catch (e) {
        if (gone) return;
        setError(messageOf(e));
      }
      if (gone) return;
      setTransport("poll"); // the stream failed or closed early: poll from where it stopped
      await poll();
    })();
    return () => {
      gone = true;
      abort.abort();
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
      <div className="log-view" ref={box} data-testid="log" data-transport={transport}>
        {text || (done ? "(empty log)" : "")}
      </div>
    </div>
  );
}
