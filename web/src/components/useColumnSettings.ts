// A table's column settings, loaded from and saved to the server per user
// (GET/PUT /api/v1/me/settings/{key}).
import { useMutation, useQuery } from "@tanstack/react-query";
import { useCallback, useMemo, useState } from "react";
import { api, enc } from "../api";
import { columnsReducer, normalize, type ColumnAction, type ColumnSettings } from "../lib/columns";
import { ApiError, messageOf } from "../lib/errors";

export function useColumnSettings(key: string, columns: string[], fixed: string[]) {
  const saved = useQuery({
    queryKey: ["settings", key],
    queryFn: async () => {
      try {
        const r = await api<{ value: Partial<ColumnSettings> }>(`/me/settings/${enc(key)}`);
        return r.value;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }
    },
    staleTime: Infinity,
  });
  const [changed, setChanged] = useState<ColumnSettings | null>(null);
  const save = useMutation({
    scope: { id: `settings:${key}` }, // one save at a time, in order: the last change wins
    mutationFn: (value: ColumnSettings) => api(`/me/settings/${enc(key)}`, { method: "PUT", body: value }),
  });
  const current = changed ?? saved.data ?? null;
  const settings = useMemo(() => normalize(current, columns, fixed), [current, columns, fixed]);
  const dispatch = useCallback(
    (action: ColumnAction) => {
      const next = normalize(columnsReducer(settings, action), columns, fixed);
      setChanged(next);
      save.mutate(next);
    },
    [settings, columns, fixed, save],
  );
  const status = save.isPending
    ? "saving…"
    : save.isError
      ? `not saved: ${messageOf(save.error)}`
      : save.isSuccess
        ? "saved"
        : saved.isLoading
          ? "loading…"
          : "";
  return { settings, dispatch, status, ready: !saved.isLoading };
}
