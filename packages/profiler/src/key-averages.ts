import { type ProfilerEvent, duration, selfTime } from "./events.js";

/** One row of keyAverages(): every event of one name (and input shapes, when grouped by them). */
export interface EventAverage {
  key: string;
  count: number;
  /** Microseconds. */
  cpuTimeTotal: number;
  selfCpuTimeTotal: number;
  cpuTimeAvg: number;
  /** Bytes (with profileMemory). */
  cpuMemoryUsage: number;
  selfCpuMemoryUsage: number;
  inputShapes?: string;
}

export type SortKey =
  | "cpu_time_total"
  | "self_cpu_time_total"
  | "cpu_time"
  | "count"
  | "cpu_memory_usage"
  | "self_cpu_memory_usage"
  | "cpuTimeTotal"
  | "selfCpuTimeTotal"
  | "cpuMemoryUsage"
  | "selfCpuMemoryUsage";

export interface TableOptions {
  /** PyTorch's sort_by (its snake_case names or the camelCase fields). Default: cpu_time_total. */
  sortBy?: SortKey;
  /** Rows to print (PyTorch's row_limit, default 100; -1 for all). */
  rowLimit?: number;
  /** Longest name printed (default 55, as PyTorch). */
  maxNameColumnWidth?: number;
}

const SORT_FIELD: Record<SortKey, keyof EventAverage> = {
  cpu_time_total: "cpuTimeTotal",
  cpuTimeTotal: "cpuTimeTotal",
  self_cpu_time_total: "selfCpuTimeTotal",
  selfCpuTimeTotal: "selfCpuTimeTotal",
  cpu_time: "cpuTimeAvg",
  count: "count",
  cpu_memory_usage: "cpuMemoryUsage",
  cpuMemoryUsage: "cpuMemoryUsage",
  self_cpu_memory_usage: "selfCpuMemoryUsage",
  selfCpuMemoryUsage: "selfCpuMemoryUsage",
};

/** PyTorch's profiler.key_averages(): an array of rows with its table() printer. */
export class KeyAverages extends Array<EventAverage> {
  /** Self time of every event, the denominator of the percentages (PyTorch's "Self CPU time total"). */
  selfCpuTimeTotal = 0;
  memory = false;
  shapes = false;

  static fromEvents(events: readonly ProfilerEvent[], options: { groupByInputShape?: boolean; memory?: boolean } = {}): KeyAverages {
    const rows = new KeyAverages();
    rows.memory = options.memory ?? false;
    rows.shapes = options.groupByInputShape ?? false;
    const byKey = new Map<string, EventAverage>();
    for (const e of events) {
      const shapes = rows.shapes ? JSON.stringify(e.inputShapes ?? []) : undefined;
      const key = shapes === undefined ? e.name : `${e.name}\u0000${shapes}`;
      let r = byKey.get(key);
      if (r === undefined) {
        r = { key: e.name, count: 0, cpuTimeTotal: 0, selfCpuTimeTotal: 0, cpuTimeAvg: 0, cpuMemoryUsage: 0, selfCpuMemoryUsage: 0, inputShapes: shapes };
        byKey.set(key, r);
        rows.push(r);
      }
      r.count++;
      r.cpuTimeTotal += duration(e);
      r.selfCpuTimeTotal += selfTime(e);
      r.cpuMemoryUsage += e.bytes ?? 0;
      r.selfCpuMemoryUsage += (e.bytes ?? 0) - e.childBytes;
      rows.selfCpuTimeTotal += selfTime(e);
    }
    for (const r of rows) r.cpuTimeAvg = r.cpuTimeTotal / r.count;
    return rows;
  }

  // map/filter on a subclass of Array build plain arrays.
  static override get [Symbol.species]() {
    return Array;
  }

  /** The table PyTorch prints for key_averages().table(sort_by=..., row_limit=...). */
  table(options: TableOptions = {}): string {
    const field = SORT_FIELD[options.sortBy ?? "cpu_time_total"];
    if (field === undefined) throw new Error(`table: unknown sortBy '${String(options.sortBy)}' (one of ${Object.keys(SORT_FIELD).join(", ")})`);
    const limit = options.rowLimit ?? 100;
    const sorted = [...this].sort((a, b) => (b[field] as number) - (a[field] as number));
    const rows = limit < 0 ? sorted : sorted.slice(0, limit);
    const nameWidth = Math.min(
      options.maxNameColumnWidth ?? 55,
      Math.max(4, ...rows.map((r) => r.key.length)),
    );
    const total = this.selfCpuTimeTotal;
    const headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"];
    if (this.memory) headers.push("CPU Mem", "Self CPU Mem");
    headers.push("# of Calls");
    if (this.shapes) headers.push("Input Shapes");
    const widths = headers.map((h, i) => (i === 0 ? nameWidth : h === "Input Shapes" ? Math.max(12, ...rows.map((r) => (r.inputShapes ?? "").length)) : 12));
    const line = widths.map((w) => "-".repeat(w)).join("  ");
    const fmtRow = (cells: string[]) => cells.map((c, i) => (i === 0 || headers[i] === "Input Shapes" ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ");
    const out = [line, fmtRow(headers), line];
    const pct = (v: number) => `${total > 0 ? ((100 * v) / total).toFixed(2) : "0.00"}%`;
    for (const r of rows) {
      const name = r.key.length > nameWidth ? `${r.key.slice(0, nameWidth - 3)}...` : r.key;
      const cells = [name, pct(r.selfCpuTimeTotal), formatTime(r.selfCpuTimeTotal), pct(r.cpuTimeTotal), formatTime(r.cpuTimeTotal), formatTime(r.cpuTimeAvg)];
      if (this.memory) cells.push(formatMemory(r.cpuMemoryUsage), formatMemory(r.selfCpuMemoryUsage));
      cells.push(String(r.count));
      if (this.shapes) cells.push(r.inputShapes ?? "");
      out.push(fmtRow(cells));
    }
    out.push(line, `Self CPU time total: ${formatTime(total)}`);
    return out.join("\n");
  }
}

/** PyTorch's _format_time: microseconds as us / ms / s with three decimals. */
export function formatTime(us: number): string {
  if (us >= 1e6) return `${(us / 1e6).toFixed(3)}s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(3)}ms`;
  return `${us.toFixed(3)}us`;
}

/** PyTorch's _format_memory: bytes as b / Kb / Mb / Gb (binary units). */
export function formatMemory(bytes: number): string {
  const KB = 1024;
  const MB = KB * 1024;
  const GB = MB * 1024;
  const a = Math.abs(bytes);
  if (a >= GB) return `${(bytes / GB).toFixed(2)} Gb`;
  if (a >= MB) return `${(bytes / MB).toFixed(2)} Mb`;
  if (a >= KB) return `${(bytes / KB).toFixed(2)} Kb`;
  return `${Math.round(bytes)} b`;
}
