import { DLError } from "@dl/tensor";
import type { ProfilerEvent } from "./events.js";

/** The Chrome trace-event JSON (what chrome://tracing and Perfetto open). */
export interface ChromeTrace {
  traceEvents: {
    name: string;
    cat: string;
    ph: "X";
    ts: number;
    dur: number;
    pid: number;
    tid: number;
    args: Record<string, unknown>;
  }[];
  displayTimeUnit: "ms";
}

/** Complete ("X") events, one per recorded range; nesting is implied by time, as in PyTorch's export. */
export function chromeTrace(events: readonly ProfilerEvent[], origin: number): ChromeTrace {
  return {
    traceEvents: events.map((e) => {
      const args: Record<string, unknown> = {};
      if (e.device !== undefined) args.Device = e.device;
      if (e.inputShapes !== undefined) args["Input Dims"] = e.inputShapes;
      if (e.bytes !== undefined) args.Bytes = e.bytes;
      if (e.stack !== undefined) args["Call stack"] = e.stack;
      return {
        name: e.name,
        cat: e.kind === "op" ? "cpu_op" : e.kind === "module" ? "python_function" : e.kind === "backward" ? "cpu_op" : "user_annotation",
        ph: "X",
        ts: origin + e.start,
        dur: e.end - e.start,
        pid: 1,
        tid: 1,
        args,
      };
    }),
    displayTimeUnit: "ms",
  };
}

/** Writes the trace to a file (Node only; in browsers use chromeTrace() and download the JSON). */
export async function writeChromeTrace(path: string, trace: ChromeTrace): Promise<void> {
  let fs: typeof import("node:fs/promises");
  try {
    fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ "node:fs/promises");
  } catch {
    throw new DLError("exportChromeTrace", "writing a file needs Node's fs; in browsers call chromeTrace() and save its JSON");
  }
  await fs.writeFile(path, JSON.stringify(trace));
}
