import { ArgumentError } from "@dl/tensor";
import { convWasm } from "../conv-wasm.js";
import { gemmWasm } from "../gemm-wasm.js";
import { CONV_KERNELS, GEMM_KERNELS, type Job, setThreadRunner, type ThreadRunner, threadRunner } from "./runner.js";

/**
 * The CPU backend's thread pool, as torch.set_num_threads: `setNumThreads(n)` runs the WebAssembly
 * kernels of matmul and convolution on n threads, the calling one and n - 1 workers, all working
 * in one shared WebAssembly memory (SharedArrayBuffer). Each kernel module is compiled once and
 * its WebAssembly.Module posted to the workers with the memory; the workers' source is the
 * function `kernelThread` below, turned into a string (no separate file to resolve: Node runs it
 * with `eval: true`, a browser from a Blob URL).
 *
 * The API stays synchronous: a kernel writes a job's commands into the shared memory, wakes the
 * workers (Atomics.notify), takes tasks itself, and waits for the rest (Atomics.wait; spinning on a
 * browser's main thread, where waiting is forbidden). Workers sleep in Atomics.wait between jobs.
 * Tasks write disjoint outputs and no sum is split between threads, so the results are the same
 * bits for any number of threads.
 *
 * Workers start asynchronously (a browser starts one only after the page yields): until they run,
 * jobs simply run on the calling thread. Where shared memory is unavailable (a page that is not
 * cross-origin isolated, or no WebAssembly SIMD) everything runs on one thread.
 */

// ctl (Int32Array over a SharedArrayBuffer): the job's header.
const GEN = 0; // job generation: workers wait on it
const NEXT = 1; // (generation & 0x7ff) << 20 | next task: claimed by compareExchange
const DONE = 2; // tasks finished
const NTASKS = 3;
const TABLE = 4; // i32 index of the task table (ntasks + 1 command indices)
const CMDS = 5; // i32 index of the commands (10 i32 each: fn, rel, 8 arguments)
const SCRATCH = 6; // byte offset of thread 0's scratch
const STRIDE = 7; // scratch bytes per thread
const PARTS = 9; // threads with an index below this take part
const ERROR = 10;
const READY = 16; // + thread index: 1 once that worker runs
const TASKS = 16 + 256; // + thread index: tasks run by that thread
const CTL_INTS = 16 + 2 * 256;
const MAX_THREADS = 256;

interface ThreadData {
  modules: { module: WebAssembly.Module; names: string[] }[];
  memory: WebAssembly.Memory;
  ctl: SharedArrayBuffer;
  tid: number;
}

/**
 * One thread's side of the pool. Self-contained (it becomes the workers' source via toString(), so
 * it refers to nothing outside itself: the ctl slots are literals, see the constants above). On the
 * calling thread (`worker` false) it returns the kernels and the task loop; in a worker it marks
 * itself ready and then serves jobs forever.
 */
function kernelThread(d: ThreadData, worker: boolean) {
  const imports = { gemm: { memory: d.memory } };
  const fns: ((...a: number[]) => void)[] = [];
  // Index loops, not for-of: a bundler lowering for-of for an old target would call a helper
  // defined outside this function.
  for (let i = 0; i < d.modules.length; i++) {
    const m = d.modules[i] as ThreadData["modules"][number];
    const ex = new WebAssembly.Instance(m.module, imports).exports as Record<string, (...a: number[]) => void>;
    for (let j = 0; j < m.names.length; j++) fns.push(ex[m.names[j] as string] as (...a: number[]) => void);
  }
  const ctl = new Int32Array(d.ctl);
  const tid = d.tid;
  const work = () => {
    const tag = (Atomics.load(ctl, 0) & 0x7ff) << 20;
    if (tid >= ctl[9]!) return;
    let mem: Int32Array | null = null;
    for (;;) {
      const w = Atomics.load(ctl, 1);
      if ((w & 0x7ff00000) !== tag) return; // a newer job: this one is finished
      const i = w & 0xfffff;
      const n = ctl[3]!;
      if (i >= n) return;
      if (Atomics.compareExchange(ctl, 1, w, w + 1) !== w) continue;
      // Claimed: the job cannot finish (nor its header change) before this task is counted done.
      if (!mem) mem = new Int32Array(d.memory.buffer);
      const cmds = ctl[5]!;
      const s = ctl[6]! + tid * ctl[7]!;
      try {
        const end = cmds + mem[ctl[4]! + i + 1]! * 10;
        for (let c = cmds + mem[ctl[4]! + i]! * 10; c < end; c += 10) {
          const r = mem[c + 1]!;
          (fns[mem[c]!] as (...a: number[]) => void)(
            mem[c + 2]! + (r & 1 ? s : 0),
            mem[c + 3]! + (r & 2 ? s : 0),
            mem[c + 4]! + (r & 4 ? s : 0),
            mem[c + 5]! + (r & 8 ? s : 0),
            mem[c + 6]! + (r & 16 ? s : 0),
            mem[c + 7]! + (r & 32 ? s : 0),
            mem[c + 8]! + (r & 64 ? s : 0),
            mem[c + 9]! + (r & 128 ? s : 0),
          );
        }
      } catch {
        Atomics.store(ctl, 10, 1);
      }
      Atomics.add(ctl, 272 + tid, 1);
      if (Atomics.add(ctl, 2, 1) + 1 === n) Atomics.notify(ctl, 2);
    }
  };
  if (!worker) return { fns, work };
  Atomics.store(ctl, 16 + tid, 1);
  let seen = 0;
  for (;;) {
    let g = Atomics.load(ctl, 0);
    // A short spin catches back-to-back jobs (one per k-block of a matmul) without a futex wake.
    for (let spin = 0; g === seen && spin < 4000; spin++) g = Atomics.load(ctl, 0);
    if (g === seen) {
      Atomics.wait(ctl, 0, seen);
      continue;
    }
    seen = g;
    work();
  }
}

const workerSource = `"use strict";
const kernelThread = ${kernelThread.toString()};
if (typeof require === "function") require("node:worker_threads").parentPort.once("message", (d) => kernelThread(d, true));
else self.onmessage = (e) => kernelThread(e.data, true);
`;

/** The module's bytes with its memory import made shared (limits flag 1 = min+max -> 3 = shared). */
function sharedVariant(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const out = bytes.slice();
  const leb = (p: number): [number, number] => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = out[p++] as number;
      v |= (b & 0x7f) << shift;
      if (b < 0x80) return [v, p];
    }
  };
  let p = 8;
  while (p < out.length) {
    const id = out[p] as number;
    const [size, body] = leb(p + 1);
    if (id === 2) {
      // The first import: module and field names, then kind 2 (memory) and its limits flag.
      let q = leb(body)[1];
      for (let name = 0; name < 2; name++) {
        const [len, at] = leb(q);
        q = at + len;
      }
      if (out[q] !== 2 || out[q + 1] !== 1) throw new Error("sharedVariant: the first import must be a memory with a maximum");
      out[q + 1] = 3;
      return out;
    }
    p = body + size;
  }
  throw new Error("sharedVariant: no memory import");
}

const MAX_PAGES = 65536;

interface Spawned {
  terminate(): void;
}

interface NodeWorkerThreads {
  Worker: new (
    src: string,
    o: { eval: boolean },
  ) => Spawned & { unref(): void; postMessage(d: unknown): void; on(e: "error", f: () => void): void };
}

interface Pool extends ThreadRunner {
  n: number;
  /** Workers 1 .. n-1 are to be started at the next threads() call (the first big product). */
  pending: boolean;
  workers: (Spawned | undefined)[];
  data: Omit<ThreadData, "tid">;
}

let pool: Pool | null | undefined; // undefined: not tried; null: unavailable here
let configured = 1;

const G = globalThis as unknown as {
  process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown };
  navigator?: { hardwareConcurrency?: number };
  crossOriginIsolated?: boolean;
  Worker?: new (url: string) => { postMessage(d: unknown): void; terminate(): void };
  Blob?: new (parts: string[], o: { type: string }) => unknown;
  URL: { createObjectURL?(b: unknown): string };
};
const isNode = typeof G.process?.versions?.node === "string";

/** The default thread count: the cores (Node), or navigator.hardwareConcurrency in a cross-origin-isolated page; else 1. */
export function defaultNumThreads(): number {
  if (typeof SharedArrayBuffer !== "function" || G.crossOriginIsolated === false) return 1;
  const os = G.process?.getBuiltinModule?.("node:os") as { availableParallelism?(): number; cpus(): unknown[] } | undefined;
  const n = os ? (os.availableParallelism?.() ?? os.cpus().length) : (G.navigator?.hardwareConcurrency ?? 1);
  return Math.max(1, Math.min(MAX_THREADS, n | 0));
}

/** Compiles the kernels for shared memory and builds the calling thread's side; null where impossible. */
function createPool(): Pool | null {
  try {
    if (typeof SharedArrayBuffer !== "function" || G.crossOriginIsolated === false || typeof WebAssembly !== "object") return null;
    if (isNode ? typeof G.process?.getBuiltinModule !== "function" : !G.Worker) return null;
    const bytes = (b64: string) => sharedVariant(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    const gemm = bytes(gemmWasm);
    const conv = bytes(convWasm);
    if (!WebAssembly.validate(gemm) || !WebAssembly.validate(conv)) return null;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    const ctlBuf = new SharedArrayBuffer(CTL_INTS * 4);
    const ctl = new Int32Array(ctlBuf);
    const data = {
      modules: [
        { module: new WebAssembly.Module(gemm), names: GEMM_KERNELS },
        { module: new WebAssembly.Module(conv), names: CONV_KERNELS },
      ],
      memory,
      ctl: ctlBuf,
    };
    const me = kernelThread({ ...data, tid: 0 }, false) as { fns: ((...a: number[]) => void)[]; work: () => void };
    let canWait = true;
    let gen = 0;
    let cmd = new Int32Array(1024);
    const p: Pool = {
      n: 1,
      pending: false,
      workers: [],
      data,
      memory,
      fns: me.fns,
      threads() {
        if (p.pending) {
          p.pending = false;
          spawn(p);
        }
        let t = 1;
        for (let i = 1; i < p.n; i++) t += ctl[READY + i] as number;
        return t;
      },
      reserve(bytes) {
        const have = memory.buffer.byteLength;
        if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
        return memory.buffer as unknown as ArrayBuffer;
      },
      job(at: number, scratchBytes = 0): Job {
        const tasks: number[] = [];
        let ncmd = 0;
        let ntasks = 0;
        return {
          task() {
            tasks.push(ncmd);
          },
          call(fn, rel, a0, a1, a2, a3, a4, a5, a6 = 0, a7 = 0) {
            if ((ncmd + 1) * 10 > cmd.length) {
              const bigger = new Int32Array(cmd.length * 2);
              bigger.set(cmd);
              cmd = bigger;
            }
            cmd.set([fn, rel, a0, a1, a2, a3, a4, a5, a6, a7], ncmd * 10);
            ncmd++;
          },
          run() {
            this.start();
            this.finish();
          },
          start() {
            ntasks = tasks.length;
            if (ntasks === 0) return;
            tasks.push(ncmd);
            // Layout from `at`: commands, task table, then each thread's scratch (16-byte aligned).
            const cmdAt = Math.ceil(at / 16) * 4;
            const tableAt = cmdAt + ncmd * 10;
            const scratch = Math.ceil(((tableAt + ntasks + 1) * 4) / 16) * 16;
            const stride = Math.ceil(scratchBytes / 16) * 16;
            const mem = new Int32Array(p.reserve(scratch + stride * p.n));
            mem.set(cmd.subarray(0, ncmd * 10), cmdAt);
            mem.set(tasks, tableAt);
            gen = (gen + 1) & 0x7fffffff || 1;
            ctl[DONE] = 0;
            ctl[NTASKS] = ntasks;
            ctl[TABLE] = tableAt;
            ctl[CMDS] = cmdAt;
            ctl[SCRATCH] = scratch;
            ctl[STRIDE] = stride;
            ctl[PARTS] = p.n;
            ctl[ERROR] = 0;
            Atomics.store(ctl, NEXT, (gen & 0x7ff) << 20);
            Atomics.store(ctl, GEN, gen);
            if (p.n > 1) Atomics.notify(ctl, GEN);
          },
          finish() {
            if (ntasks === 0) return;
            me.work();
            for (let spin = 0; ; spin++) {
              const done = Atomics.load(ctl, DONE);
              if (done >= ntasks) break;
              if (canWait && spin > 2000) {
                try {
                  Atomics.wait(ctl, DONE, done, 50);
                } catch {
                  canWait = false; // a browser's main thread: spin
                }
              }
            }
            if (ctl[ERROR]) throw new Error("setNumThreads: a kernel failed in a worker thread");
          },
        };
      },
    };
    return p;
  } catch {
    return null;
  }
}

/** Starts workers 1 .. n-1 that are not running (asynchronously: they take part once ready). */
function spawn(p: Pool): void {
  for (let tid = 1; tid < p.n; tid++) {
    if (p.workers[tid]) continue;
    const message = { ...p.data, tid };
    if (isNode) {
      // Node >= 20.16 (process.getBuiltinModule): no import of a node: module, so this file still
      // bundles for browsers; an older Node keeps one thread (see setNumThreads).
      const wt = G.process?.getBuiltinModule?.("node:worker_threads") as NodeWorkerThreads | undefined;
      if (!wt) return;
      const w = new wt.Worker(workerSource, { eval: true });
      w.unref(); // never keeps the process alive
      w.on("error", () => {
        new Int32Array(p.data.ctl)[READY + tid] = 0;
      });
      w.postMessage(message);
      p.workers[tid] = w;
    } else if (G.Worker && G.Blob && G.URL.createObjectURL) {
      const url = G.URL.createObjectURL(new G.Blob([workerSource], { type: "text/javascript" }));
      const w = new G.Worker(url);
      w.postMessage(message);
      p.workers[tid] = w;
    }
  }
}

/**
 * Sets the number of threads the CPU backend's matmul and convolution kernels use (as
 * torch.set_num_threads): the calling thread plus n - 1 workers. Results are the same bits for
 * any n. Where shared memory or workers are unavailable (a page that is not cross-origin isolated,
 * Node before 20.16), 1 is kept. Workers start in the background at the first product big enough
 * to use them (that one runs on the calling thread); jobs use them once they run
 * (`await threadsReady()` starts them and waits).
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ArgumentError("setNumThreads", `Number of threads must be a positive integer, got ${n}`);
  if (pool === undefined) pool = n > 1 ? createPool() : undefined;
  if (!pool) {
    configured = 1;
    return;
  }
  configured = Math.min(n, MAX_THREADS);
  // Fewer threads: the workers past n stay asleep (Atomics.wait costs nothing), ready for a later
  // increase; jobs take only threads below n. They never keep Node alive (unref).
  pool.n = configured;
  setThreadRunner(configured > 1 ? pool : null);
  // Workers start when a product first asks for them (threads()), so a process that installs the
  // pool and never multiplies anything big starts none.
  if (configured > 1) pool.pending = true;
}

/** The number of threads the CPU kernels use (as torch.get_num_threads). */
export function getNumThreads(): number {
  return configured;
}

/** Resolves once every worker of the current setNumThreads is running (at most `timeoutMs`). */
export async function threadsReady(timeoutMs = 10000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const have = threadRunner ? threadRunner.threads() : 1;
    if (have >= configured || Date.now() - t0 > timeoutMs) return have;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Tasks run so far by each thread (index 0: the calling thread), to see that the workers take part. */
export function threadStats(): number[] {
  if (!pool) return [];
  const ctl = new Int32Array(pool.data.ctl);
  return Array.from(ctl.subarray(TASKS, TASKS + Math.max(pool.n, pool.workers.length)));
}

/** Uses every core: `import "@dl/backend-cpu/register"` calls this (see register.ts). */
export function installThreads(): void {
  setNumThreads(defaultNumThreads());
}
