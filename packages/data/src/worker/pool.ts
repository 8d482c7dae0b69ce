import { ArgumentError, type Tensor, fromHost } from "@dl/tensor";
import { HEARTBEAT_MS, WORKER_SOURCE } from "./bootstrap.js";
import { WorkerError } from "./error.js";

export { HEARTBEAT_MS, WorkerError };

/** How a worker reports back to the pool. */
export interface WorkerCallbacks {
  onMessage(message: unknown): void;
  /** An uncaught error in the worker (or a message that could not be deserialized). */
  onError(error: unknown): void;
  /** The worker stopped (Node reports an exit code; browsers never call this). */
  onExit(code: number): void;
}

/**
 * What postMessage may transfer (ArrayBuffers, MessagePorts, ...). Structural, so that the
 * published types need neither the DOM lib nor Node's worker_threads types.
 */
export type TransferList = readonly object[];

/** The Web Worker API this package uses (a structural subset of the DOM's Worker). */
export interface WebWorkerLike {
  postMessage(message: unknown, transfer: object[]): void;
  terminate(): void;
  addEventListener(type: "message", listener: (e: { data: unknown }) => void): void;
  addEventListener(type: "messageerror", listener: () => void): void;
  addEventListener(type: "error", listener: (e: { error?: unknown; message?: string; preventDefault(): void }) => void): void;
}

/** One started worker, as the pool drives it. */
export interface WorkerHandle {
  post(message: unknown, transfer?: TransferList): void;
  terminate(): void;
  /** Node only: keep the process alive while the worker has work (ref) or not (unref). */
  ref?(): void;
  unref?(): void;
}

/**
 * Starts a worker running `source` (an ES module's text, see WORKER_SOURCE). The default factory
 * uses Node's worker_threads (through process.getBuiltinModule, or what `@dl/data/node`
 * registered) or the global `Worker` of browsers, Deno and Bun.
 */
export type WorkerFactory = (options: { source: string; name: string } & WorkerCallbacks) => WorkerHandle;

interface NodeWorker {
  on(event: string, listener: (arg: never) => void): void;
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  terminate(): unknown;
  ref(): void;
  unref(): void;
}

/** The part of node:worker_threads the factory needs. */
export interface NodeWorkerThreads {
  Worker: new (filename: URL, options: { name?: string }) => NodeWorker;
}

/** A WorkerFactory over Node's worker_threads module (the worker script is a data: URL module). */
export function nodeWorkerFactory(workerThreads: NodeWorkerThreads): WorkerFactory {
  return ({ source, name, onMessage, onError, onExit }) => {
    const w = new workerThreads.Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), { name });
    w.on("message", onMessage as (m: never) => void);
    w.on("error", onError as (e: never) => void);
    w.on("messageerror", onError as (e: never) => void);
    w.on("exit", onExit as (c: never) => void);
    return {
      post: (m, transfer) => w.postMessage(m, transfer),
      terminate: () => {
        void w.terminate();
      },
      ref: () => w.ref(),
      unref: () => w.unref(),
    };
  };
}

/** A WorkerFactory over the Web Worker API (module workers from a Blob URL). */
export function webWorkerFactory(
  WorkerCtor: new (url: string, options: { type: "module"; name?: string }) => WebWorkerLike = (globalThis as unknown as {
    Worker: new (url: string, options: { type: "module"; name?: string }) => WebWorkerLike;
  }).Worker,
): WorkerFactory {
  return ({ source, name, onMessage, onError }) => {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const w = new WorkerCtor(url, { type: "module", name });
    w.addEventListener("message", (e) => onMessage(e.data));
    w.addEventListener("messageerror", () => onError(new Error("a message from the worker could not be deserialized")));
    w.addEventListener("error", (e) => {
      e.preventDefault();
      onError(e.error instanceof Error ? e.error : new Error(e.message || "uncaught error in the worker script"));
    });
    return {
      post: (m, transfer) => w.postMessage(m, [...(transfer ?? [])]),
      terminate: () => {
        w.terminate();
        URL.revokeObjectURL(url);
      },
    };
  };
}

let registered: WorkerFactory | null = null;

/** Sets the factory every DataLoader uses by default (`@dl/data/node` registers worker_threads). */
export function setWorkerFactory(factory: WorkerFactory | null): void {
  registered = factory;
}

interface MaybeNodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
  cwd?: () => string;
}

function nodeProcess(): MaybeNodeProcess | undefined {
  const p = (globalThis as { process?: MaybeNodeProcess }).process;
  return p && typeof p.versions?.node === "string" ? p : undefined;
}

/** The factory used when a DataLoader gets none: the registered one, Node's worker_threads, or Web Workers. */
export function defaultWorkerFactory(): WorkerFactory {
  if (registered) return registered;
  const p = nodeProcess();
  if (p) {
    const wt = p.getBuiltinModule?.("node:worker_threads") as NodeWorkerThreads | undefined;
    if (wt) return nodeWorkerFactory(wt);
    throw new ArgumentError(
      "DataLoader",
      'numWorkers > 0 needs worker_threads, and this Node has no process.getBuiltinModule (Node < 20.16): add `import "@dl/data/node"` once at startup',
    );
  }
  if (typeof globalThis.Worker === "function") return webWorkerFactory(globalThis.Worker);
  throw new ArgumentError(
    "DataLoader",
    "numWorkers > 0 needs Web Workers or Node's worker_threads, and neither is available here; pass workerFactory",
  );
}

/** Where a worker builds its dataset from: an ES module and the export that makes (or is) the dataset. */
export interface WorkerDatasetSpec {
  /**
   * The module: an absolute URL (e.g. `new URL("./my-dataset.mjs", import.meta.url)`), or in Node
   * a file path (relative paths resolve against the working directory). It must run in a plain
   * worker (JavaScript, or whatever the runtime executes natively).
   */
  module: string | URL;
  /**
   * The export to use (default "default"): a dataset object, a class (constructed with `args`),
   * or a function (called with `args`, may be async) returning the dataset.
   */
  exportName?: string;
  /** Arguments for the class or function (structured-cloneable). */
  args?: unknown[];
  /** An exported function called first with the WorkerInfo (PyTorch's worker_init_fn). */
  initExport?: string;
}

/** Resolves the module specifier to an absolute URL the worker can import. */
export function resolveModuleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(module) && !/^[A-Za-z]:[\\/]/.test(module)) return new URL(module).href;
  const p = nodeProcess();
  if (p) {
    let path = module.replace(/\\/g, "/");
    if (!path.startsWith("/") && !/^[A-Za-z]:\//.test(path)) {
      if (!path.startsWith("./") && !path.startsWith("../")) {
        throw new ArgumentError(
          "DataLoader",
          `workerDataset.module '${module}' is a bare specifier, which a worker cannot resolve: give a path, or new URL("./file.mjs", import.meta.url)`,
        );
      }
      const cwd = (p.cwd?.() ?? "/").replace(/\\/g, "/");
      path = `${cwd.endsWith("/") ? cwd : `${cwd}/`}${path}`;
    }
    return new URL(`file://${/^[A-Za-z]:\//.test(path) ? "/" : ""}${encodeURI(path).replace(/[?#]/g, encodeURIComponent)}`).href;
  }
  const base = (globalThis as { location?: { href: string } }).location?.href;
  if (!base) throw new ArgumentError("DataLoader", `cannot resolve workerDataset.module '${module}' without a base URL: pass a URL`);
  return new URL(module, base).href;
}

type Reply = { type: "data"; items: unknown } | { type: "done" };

interface Pending {
  resolve(r: Reply): void;
  reject(e: unknown): void;
  batch: () => number | null;
}

interface Slot {
  id: number;
  handle: WorkerHandle | null;
  pending: Map<number, Pending>;
  /** Set once the worker is unusable: every request to it fails with this. */
  failure: ((batch: number | null) => WorkerError) | null;
  ready: { kind: string; length: number | null } | null;
  /** When the worker last sent anything (a heartbeat at least every HEARTBEAT_MS while its event loop runs). */
  lastSeen: number;
}

export interface PoolOptions {
  numWorkers: number;
  spec: WorkerDatasetSpec;
  seed: number;
  factory: WorkerFactory;
  /** Checked against what each worker reports when its dataset is built. */
  expect: { kind: "map" | "iterable"; length: number | null };
}

/**
 * The workers of one DataLoader: starts them, sends requests, matches replies to requests, and
 * turns every failure (an error in getItem, a failed dataset build, a crashed or exited worker)
 * into a rejected request naming the worker and the batch. A worker that is alive but never
 * answers is bounded only by the loader's timeout; its heartbeat (lastSeen) says why it stalls.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;
  readonly seed: number;

  constructor(options: PoolOptions) {
    this.seed = options.seed;
    const moduleUrl = resolveModuleUrl(options.spec.module);
    for (let id = 0; id < options.numWorkers; id++) {
      const slot: Slot = { id, handle: null, pending: new Map(), failure: null, ready: null, lastSeen: Date.now() };
      this.slots.push(slot);
      try {
        slot.handle = options.factory({
          source: WORKER_SOURCE,
          name: `dl-data-worker-${id}`,
          onMessage: (m) => this.onMessage(slot, m, options.expect),
          onError: (e) => {
            const err = e instanceof Error ? { name: e.name, message: e.message, stack: e.stack ?? "" } : null;
            this.fail(slot, (b) => new WorkerError(id, b, `uncaught error: ${err ? `${err.name}: ${err.message}` : String(e)}`, err));
          },
          onExit: (code) => {
            if (!this.closed) this.fail(slot, (b) => new WorkerError(id, b, `exited unexpectedly (exit code ${code})`));
          },
        });
      } catch (e) {
        this.close();
        throw new WorkerError(id, null, `could not be started: ${e instanceof Error ? e.message : String(e)}`);
      }
      slot.handle.unref?.();
      slot.handle.post({
        type: "init",
        workerId: id,
        numWorkers: options.numWorkers,
        seed: options.seed + id,
        module: moduleUrl,
        exportName: options.spec.exportName ?? "default",
        args: options.spec.args ?? [],
        initExport: options.spec.initExport ?? null,
      });
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /** Workers still running (not terminated, not failed). */
  get liveWorkers(): number {
    return this.slots.filter((s) => s.handle !== null && s.failure === null).length;
  }

  /** Seconds since worker `w` last sent a message or heartbeat. */
  silentFor(w: number): number {
    const slot = this.slots[w];
    return slot ? (Date.now() - slot.lastSeen) / 1000 : 0;
  }

  private onMessage(slot: Slot, raw: unknown, expect: PoolOptions["expect"]): void {
    slot.lastSeen = Date.now();
    if ((raw as { type?: string } | null)?.type === "heartbeat") return;
    const m = raw as {
      type: string;
      id: number;
      items?: unknown;
      kind?: string;
      length?: number | null;
      phase?: string;
      index?: number | null;
      error?: WorkerError["workerError"];
    };
    if (m.type === "ready") {
      slot.ready = { kind: m.kind as string, length: m.length ?? null };
      if (m.kind !== expect.kind) {
        this.fail(
          slot,
          (b) =>
            new WorkerError(
              slot.id,
              b,
              `workerDataset built a ${m.kind}-style dataset, but the main-thread dataset is ${expect.kind}-style`,
            ),
        );
      } else if (expect.kind === "map" && m.length !== expect.length) {
        this.fail(
          slot,
          (b) =>
            new WorkerError(
              slot.id,
              b,
              `workerDataset built a dataset of length ${m.length}, but the main-thread dataset has length ${expect.length}: both must be the same dataset`,
            ),
        );
      }
      return;
    }
    if (m.type === "error" && m.id === -1) {
      const e = m.error ?? null;
      this.fail(
        slot,
        (b) => new WorkerError(slot.id, b, `failed to build its dataset: ${e ? `${e.name}: ${e.message}` : "unknown error"}`, e),
      );
      return;
    }
    const p = slot.pending.get(m.id);
    if (!p) return; // a reply to an abandoned request (an earlier, interrupted epoch)
    slot.pending.delete(m.id);
    if (slot.pending.size === 0) slot.handle?.unref?.();
    if (m.type === "data") p.resolve({ type: "data", items: m.items });
    else if (m.type === "done") p.resolve({ type: "done" });
    else {
      const e = m.error ?? null;
      const what =
        m.phase === "init"
          ? "failed to build its dataset"
          : m.index !== null && m.index !== undefined
            ? `getItem(${m.index}) threw`
            : "threw";
      p.reject(new WorkerError(slot.id, p.batch(), `${what}: ${e ? `${e.name}: ${e.message}` : "unknown error"}`, e));
    }
  }

  /** Marks the worker unusable, rejects what it owes, and terminates it. */
  private fail(slot: Slot, make: (batch: number | null) => WorkerError): void {
    if (slot.failure) return;
    slot.failure = make;
    for (const p of slot.pending.values()) p.reject(make(p.batch()));
    slot.pending.clear();
    const h = slot.handle;
    slot.handle = null;
    if (h) {
      h.unref?.();
      h.terminate();
    }
  }

  /**
   * Sends a request to worker `w`. `batch` says which loader batch the answer becomes (it may be
   * known only later, for iterable datasets), for error messages.
   */
  request(w: number, message: Record<string, unknown>, batch: () => number | null): Promise<Reply> {
    const slot = this.slots[w] as Slot;
    if (slot.failure) return Promise.reject(slot.failure(batch()));
    if (this.closed || !slot.handle) return Promise.reject(new WorkerError(w, batch(), "the worker pool was shut down"));
    const id = this.nextId++;
    const promise = new Promise<Reply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject, batch });
    });
    if (slot.pending.size === 1) slot.handle.ref?.();
    try {
      slot.handle.post({ ...message, id });
    } catch (e) {
      slot.pending.delete(id);
      return Promise.reject(new WorkerError(w, batch(), `could not send the request: ${e instanceof Error ? e.message : String(e)}`));
    }
    return promise;
  }

  /** Forgets every outstanding request (their late replies are ignored); workers stay up. */
  abandon(): void {
    for (const slot of this.slots) {
      slot.pending.clear();
      slot.handle?.unref?.();
    }
  }

  /** Terminates every worker; outstanding requests are rejected. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) {
      for (const p of slot.pending.values()) p.reject(new WorkerError(slot.id, p.batch(), "the worker pool was shut down"));
      slot.pending.clear();
      const h = slot.handle;
      slot.handle = null;
      if (h) {
        h.unref?.();
        h.terminate();
      }
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** Rebuilds what a worker sent: tensors (sent as { __dlTensor__, dtype, shape, data }) become Tensors. */
export function decodeItems(value: unknown, created: Tensor[]): unknown {
  if (value === null || typeof value !== "object") return value;
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map((v) => decodeItems(v, created));
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, decodeItems(v, created)]));
  const o = value as Record<string, unknown>;
  if (o.__dlTensor__ === 1 && typeof o.dtype === "string" && Array.isArray(o.shape)) {
    const t = fromHost(o.data as ArrayLike<number>, o.shape as number[], { dtype: o.dtype as Tensor["dtype"] });
    created.push(t);
    return t;
  }
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) out[k] = decodeItems(o[k], created);
  return out;
}
