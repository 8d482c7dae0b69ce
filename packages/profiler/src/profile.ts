import { setBackwardObserver } from "@dl/autograd";
import { type Module, registerModuleForwardHook, registerModuleForwardPreHook } from "@dl/nn";
import { type Backend, DLError, registeredBackends } from "@dl/tensor";
import { type ChromeTrace, chromeTrace, writeChromeTrace } from "./chrome-trace.js";
import type { ProfilerEvent } from "./events.js";
import { KeyAverages } from "./key-averages.js";

export interface ProfileOptions {
  /** Record each op's operand shapes (PyTorch's record_shapes). */
  recordShapes?: boolean;
  /** Record the bytes each range leaves allocated on its device (PyTorch's profile_memory). */
  profileMemory?: boolean;
  /** Record the JavaScript call stack where each range began (PyTorch's with_stack; slow). */
  withStack?: boolean;
  /** Devices whose kernels are recorded (default: every registered backend). */
  devices?: readonly string[];
}

/** The kernels of the Backend contract; each call becomes one `dl::<name>` op event. */
const KERNELS = ["alloc", "upload", "readSync", "copy", "write", "unary", "binary", "where", "reduce", "argReduce", "scan", "sort", "matmul", "gather", "scatter"] as const;
/** Kernels whose first argument names the operation (unary("exp", ...) is dl::exp). */
const NAMED_BY_FIRST_ARG = new Set<string>(["unary", "binary", "reduce", "argReduce", "scan"]);

class Recorder {
  readonly events: ProfilerEvent[] = [];
  private readonly open: number[] = [];
  private readonly startBytes: number[] = [];
  private readonly t0 = performance.now();
  constructor(
    readonly options: ProfileOptions,
    private readonly backends: readonly Backend[],
  ) {}

  now(): number {
    return (performance.now() - this.t0) * 1000;
  }

  private bytes(): number {
    let total = 0;
    for (const b of this.backends) total += b.memory().bytes;
    return total;
  }

  begin(name: string, kind: ProfilerEvent["kind"], extra: Partial<ProfilerEvent> = {}): number {
    const index = this.events.length;
    const parent = this.open.length ? (this.open[this.open.length - 1] as number) : -1;
    const e: ProfilerEvent = { name, kind, start: 0, end: Number.NaN, depth: this.open.length, parent, childTime: 0, childBytes: 0, ...extra };
    if (this.options.withStack) e.stack = (new Error().stack ?? "").split("\n").slice(3).join("\n");
    this.events.push(e);
    this.open.push(index);
    this.startBytes[index] = this.options.profileMemory ? this.bytes() : 0;
    e.start = this.now();
    return index;
  }

  /** Closes `index` (and anything still open inside it, e.g. after an exception). */
  end(index: number): void {
    if (!this.open.includes(index)) return;
    const t = this.now();
    while (this.open.length) {
      const i = this.open.pop() as number;
      const e = this.events[i] as ProfilerEvent;
      e.end = t;
      if (this.options.profileMemory) e.bytes = this.bytes() - (this.startBytes[i] as number);
      if (e.parent >= 0) {
        const p = this.events[e.parent] as ProfilerEvent;
        p.childTime += e.end - e.start;
        p.childBytes += e.bytes ?? 0;
      }
      if (i === index) return;
    }
  }

  closeAll(): void {
    if (this.open.length) this.end(this.open[0] as number);
  }
}

let active: Recorder | null = null;

/** The result of profile(): every recorded range, PyTorch's key_averages() and the Chrome trace. */
export class Profile {
  constructor(
    /** Every range in the order it began (ops, modules, backward nodes, recordFunction ranges). */
    readonly events: readonly ProfilerEvent[],
    private readonly memory: boolean,
  ) {}

  /** Events grouped by name (and operand shapes with groupByInputShape), as prof.key_averages(). */
  keyAverages(options: { groupByInputShape?: boolean } = {}): KeyAverages {
    return KeyAverages.fromEvents(this.events, { groupByInputShape: options.groupByInputShape, memory: this.memory });
  }

  /** The trace as Chrome trace-event JSON (open it in chrome://tracing or Perfetto). */
  chromeTrace(): ChromeTrace {
    return chromeTrace(this.events, 0);
  }

  /** prof.export_chrome_trace(path): writes chromeTrace() as JSON (Node). */
  exportChromeTrace(path: string): Promise<void> {
    return writeChromeTrace(path, this.chromeTrace());
  }
}

/**
 * torch.profiler.profile: runs fn and records every kernel it runs (name, device, operand shapes,
 * self and total time, bytes), every module's forward (nn.Module: Name) and every backward node.
 * Costs nothing when no profile is running: the backends are instrumented only for its duration.
 * fn may be async (then profile returns a Promise). Kernel times are host times: on the gpu they
 * include only what the driver does synchronously.
 */
export function profile(fn: () => void): Profile;
export function profile(options: ProfileOptions, fn: () => void): Profile;
export function profile(fn: () => Promise<unknown>): Promise<Profile>;
export function profile(options: ProfileOptions, fn: () => Promise<unknown>): Promise<Profile>;
export function profile(a: ProfileOptions | (() => unknown), b?: () => unknown): Profile | Promise<Profile> {
  const options = typeof a === "function" ? {} : a;
  const fn = typeof a === "function" ? a : b;
  if (typeof fn !== "function") throw new DLError("profile", "expected profile(fn) or profile(options, fn) with a function to run");
  if (active !== null) throw new DLError("profile", "a profile is already running (profiles cannot be nested; use recordFunction for sub-ranges)");
  const backends = [...registeredBackends()]
    .filter(([device]) => options.devices === undefined || options.devices.includes(device))
    .map(([, b]) => b);
  const rec = new Recorder(options, backends);
  const undo = [...backends.map((b) => instrument(b, rec)), instrumentModules(rec), instrumentBackward(rec)];
  active = rec;
  const finish = (): Profile => {
    active = null;
    for (const u of undo.reverse()) u();
    rec.closeAll();
    return new Profile(rec.events, options.profileMemory ?? false);
  };
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    finish();
    throw e;
  }
  if (result instanceof Promise) return result.then(finish, (e) => {
    finish();
    throw e;
  });
  return finish();
}

/** torch.profiler.record_function: a named range around fn in the running profile (fn runs as is otherwise). */
export function recordFunction<T>(name: string, fn: () => T): T {
  const rec = active;
  if (rec === null) return fn();
  const i = rec.begin(name, "user");
  try {
    return fn();
  } finally {
    rec.end(i);
  }
}

/** Wraps a backend's kernels (and fused kernels) in place; returns the function that restores them. */
function instrument(backend: Backend, rec: Recorder): () => void {
  const target = backend as unknown as Record<string, unknown>;
  const restores: (() => void)[] = [];
  const shapes = rec.options.recordShapes ?? false;
  const wrap = (owner: Record<string, unknown>, key: string, label: (args: unknown[]) => string) => {
    const original = owner[key];
    if (typeof original !== "function") return;
    const own = Object.hasOwn(owner, key);
    owner[key] = function (this: unknown, ...args: unknown[]) {
      const i = rec.begin(label(args), "op", { device: backend.name, inputShapes: shapes ? shapesOf(args) : undefined });
      try {
        return (original as (...x: unknown[]) => unknown).apply(this, args);
      } finally {
        rec.end(i);
      }
    };
    restores.push(() => {
      if (own) owner[key] = original;
      else delete owner[key];
    });
  };
  for (const k of KERNELS) wrap(target, k, NAMED_BY_FIRST_ARG.has(k) ? (args) => `dl::${String(args[0])}` : () => `dl::${k}`);
  const fused = backend.fused as Record<string, unknown> | undefined;
  if (fused !== undefined) {
    const copy: Record<string, unknown> = { ...fused };
    for (const k of Object.keys(copy)) wrap(copy, k, () => `dl::fused::${k}`);
    const own = Object.hasOwn(target, "fused");
    target.fused = copy;
    restores.push(() => {
      if (own) target.fused = fused;
      else delete target.fused;
    });
  }
  return () => {
    for (const r of restores.reverse()) r();
  };
}

function shapesOf(args: unknown[]): number[][] {
  const out: number[][] = [];
  for (const a of args) {
    if (a !== null && typeof a === "object" && Array.isArray((a as { shape?: unknown }).shape) && "strides" in a) {
      out.push([...(a as unknown as { shape: number[] }).shape]);
    }
  }
  return out;
}

function instrumentModules(rec: Recorder): () => void {
  const open = new Map<Module, number[]>();
  const pre = registerModuleForwardPreHook((m) => {
    const i = rec.begin(`nn.Module: ${m.constructor.name}`, "module");
    const list = open.get(m);
    if (list) list.push(i);
    else open.set(m, [i]);
  });
  const post = registerModuleForwardHook((m) => {
    const i = open.get(m)?.pop();
    if (i !== undefined) rec.end(i);
  });
  return () => {
    pre.remove();
    post.remove();
  };
}

function instrumentBackward(rec: Recorder): () => void {
  const open: number[] = [];
  const previous = setBackwardObserver({
    begin: (name) => open.push(rec.begin(`autograd::engine::evaluate_function: ${name}`, "backward")),
    end: () => {
      const i = open.pop();
      if (i !== undefined) rec.end(i);
    },
  });
  return () => {
    setBackwardObserver(previous);
  };
}
