/**
 * The seam between the kernels and the thread pool (./pool.ts). matmul.ts and fused/conv-gemm.ts
 * read `threadRunner`; it stays null (every kernel on the calling thread) until the pool module is
 * installed, so a bundle that never imports the pool carries only this file.
 */

/** The kernels a job can call, by index (the same table in every thread): KERNELS' names in order. */
export const FN_GEMM_F32 = 0;
export const FN_GEMM_F64 = 1;
export const FN_PACK_B = 2;
export const FN_PACK_BT = 3;
export const FN_PAD_IMAGE = 4;
export const FN_UNPAD_IMAGE = 5;
export const FN_ADD_BIAS = 6;
export const FN_PACK_A = 7;
export const FN_SCATTER_ADD = 8;
export const FN_ZERO = 9;

/** The exports of wasm/gemm.wat and of wasm/conv.wat (which imports the gemm module's memory) making the table. */
export const GEMM_KERNELS = ["gemm_f32", "gemm_f64"];
export const CONV_KERNELS = ["pack_b", "pack_bt", "pad_image", "unpad_image", "add_bias", "pack_a", "scatter_add", "zero"];

/**
 * A job: tasks, each a list of kernel calls run in order by one thread; tasks are claimed by the
 * threads in any order, so they must write disjoint memory (and never split one sum between them).
 */
export interface Job {
  /** Starts the next task. */
  task(): void;
  /**
   * Appends a call of kernel `fn` to the current task. Bit i of `rel` set: argument i is an offset
   * into the running thread's scratch area (see ThreadRunner.job) and gets that area's address added.
   */
  call(fn: number, rel: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number, a6?: number, a7?: number): void;
  /** Runs the tasks on every available thread, the calling one included; returns when all are done. */
  run(): void;
  /**
   * run() in two halves: start() hands the tasks to the workers and returns; the caller may then
   * prepare the next job's data (in memory no task reads or writes) before finish() takes its
   * share of the tasks and waits for the rest.
   */
  start(): void;
  finish(): void;
}

export interface ThreadRunner {
  /** Threads a job would use now: 1 + the workers that are running (at most getNumThreads()). */
  threads(): number;
  /** The shared memory every thread's kernels work in; at least `bytes` long after `reserve`. */
  readonly memory: WebAssembly.Memory;
  reserve(bytes: number): ArrayBuffer;
  /** This thread's kernels (indexed by the FN_* constants), for work done outside jobs. */
  readonly fns: readonly ((...args: number[]) => void)[];
  /**
   * A new job whose commands are written into the memory from byte `at` (after the caller's data);
   * each thread gets `scratchBytes` of private scratch memory after them.
   */
  job(at: number, scratchBytes?: number): Job;
}

/**
 * Multiply-adds below which a matmul or convolution stays on the calling thread. A job costs tens of
 * microseconds of waking and waiting (more when other processes hold the cores), so a product must
 * be ~0.1 ms of work or more (2^21 multiply-adds take ~0.1 ms at 35 GFLOP/s) to gain from threads.
 * Tests set 0 to put every product through the pool.
 */
export let threadMinWork = 1 << 21;

export function setThreadMinWork(madds: number): void {
  threadMinWork = madds;
}

/** The installed pool, or null: everything runs on the calling thread. */
export let threadRunner: ThreadRunner | null = null;

export function setThreadRunner(r: ThreadRunner | null): void {
  threadRunner = r;
}
