// An image behind the API (files and artifacts are served as attachments with the key),
// fetched with the key and shown from a blob URL.
import { useEffect, useState, type CSSProperties } from "react";
import { storedKey } from "../api";

const TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp",
};

export function imageType(name: string): string | null {
  const ext = name.split(".").pop()?.toLowerCase() ?? "";
  return TYPES[ext] ?? null;
}

export function AuthImage({ url, name, style }: { url: string; name: string; style?: CSSProperties }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let objectUrl: string | null = null;
    let gone = false;
    const key = storedKey();
    fetch(url, { headers: key ? { Authorization: `Bearer ${key}` } : {} })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(String(r.status)))))
      .then((b) => {
        if (gone) return;
        objectUrl = URL.createObjectURL(new Blob([b], { type: imageType(name) ?? "image/png" }));
        setSrc(objectUrl);
      })
      .catch(() => !gone && setFailed(true));
    return () => {
      gone = true;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [url, name]);
  if (failed) return <span title={`cannot load ${name}`}>—</span>;
  return src ? <img src={src} alt={name} style={style} /> : <span style={style} />;
}
