// Hide, drag to reorder (or step with the arrows), and pin columns left.
import { ActionIcon, Button, Checkbox, Group, Popover, Stack, Text, Tooltip } from "@mantine/core";
import { useState } from "react";
import type { ColumnAction, ColumnSettings } from "../lib/columns";

interface Props {
  settings: ColumnSettings;
  labels: Record<string, string>;
  dispatch: (a: ColumnAction) => void;
  status: string;
}

export function ColumnSettingsPanel({ settings, labels, dispatch, status }: Props) {
  const [dragging, setDragging] = useState<string | null>(null);
  const [over, setOver] = useState<string | null>(null);
  return (
    <Popover position="bottom-end" shadow="md" withinPortal>
      <Popover.Target>
        <Button variant="default" size="xs" data-testid="column-settings">
          Columns
        </Button>
      </Popover.Target>
      <Popover.Dropdown data-testid="column-settings-panel">
        <Stack gap={2}>
          <Group justify="space-between">
            <Text size="xs" c="dimmed">
              Drag to reorder · pin keeps a column at the left
            </Text>
            <Text size="xs" c="dimmed" data-testid="columns-status">
              {status}
            </Text>
          </Group>
          {settings.order.map((id, i) => (
            <div
              key={id}
              className={`col-setting${over === id ? " drag-over" : ""}`}
              data-testid={`col-setting-${id}`}
              draggable
              onDragStart={(e) => {
                setDragging(id);
                e.dataTransfer.setData("text/plain", id);
                e.dataTransfer.effectAllowed = "move";
              }}
              onDragOver={(e) => {
                e.preventDefault();
                setOver(id);
              }}
              onDragLeave={() => setOver(null)}
              onDrop={(e) => {
                e.preventDefault();
                const moved = e.dataTransfer.getData("text/plain") || dragging;
                if (moved) dispatch({ type: "drop", id: moved, onto: id });
                setDragging(null);
                setOver(null);
              }}
              onDragEnd={() => {
                setDragging(null);
                setOver(null);
              }}
            >
              <Text size="xs" c="dimmed" aria-hidden>
                ⠿
              </Text>
              <Checkbox
                size="xs"
                checked={!settings.hidden.includes(id)}
                onChange={() => dispatch({ type: "toggle", id })}
                aria-label={`Show ${labels[id] ?? id}`}
              />
              <Text size="sm" style={{ flex: 1 }}>
                {labels[id] ?? id}
              </Text>
              <ActionIcon
                size="xs"
                variant="subtle"
                disabled={i === 0}
                onClick={() => dispatch({ type: "moveBy", id, delta: -1 })}
                aria-label={`Move ${labels[id] ?? id} left`}
              >
                ↑
              </ActionIcon>
              <ActionIcon
                size="xs"
                variant="subtle"
                disabled={i === settings.order.length - 1}
                onClick={() => dispatch({ type: "moveBy", id, delta: 1 })}
                aria-label={`Move ${labels[id] ?? id} right`}
              >
                ↓
              </ActionIcon>
              <Tooltip label={settings.pinned.includes(id) ? "Unpin" : "Pin to the left"}>
                <Button
                  size="compact-xs"
                  variant={settings.pinned.includes(id) ? "filled" : "subtle"}
                  onClick={() => dispatch({ type: "pin", id })}
                  aria-label={`Pin ${labels[id] ?? id}`}
                  aria-pressed={settings.pinned.includes(id)}
                >
                  {settings.pinned.includes(id) ? "pinned" : "pin"}
                </Button>
              </Tooltip>
            </div>
          ))}
          <Button size="xs" variant="subtle" onClick={() => dispatch({ type: "reset" })}>
            Reset to default
          </Button>
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}
