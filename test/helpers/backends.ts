import { cpuBackend, setNumThreads, threadsReady } from "@dl/backend-cpu";
import { type Backend, type DType, getDefaultDevice, registerBackend, setDefaultDevice } from "@dl/tensor";
import { type TestContext, afterEach, beforeAll, beforeEach, describe } from "vitest";

/**
 * The backends every shared suite runs against. A suite written with describeEachBackend runs
 * once per entry, with that backend as the default device, so a new backend inherits every test.
 */
export const testBackends: {
  device: string;
  backend: Backend;
  /** Dtypes the backend cannot hold: tests that use them are skipped on it. */
  unsupported?: readonly DType[];
  /** Tests that cannot pass on this backend, skipped with the reason (see test/gpu/known-failures.ts). */
  knownFailures?: readonly { pattern: RegExp; reason: string }[];
}[] = [{ device: "cpu", backend: cpuBackend }];

registerBackend(cpuBackend);

/** Whether tests on `device` can use `dtype` (the GPU backend has no float64). */
export function backendSupports(device: string, dtype: DType): boolean {
  const entry = testBackends.find((b) => b.device === device);
  return !(entry?.unsupported ?? []).includes(dtype);
}

/**
 * A float64 fixture tensor as float32 when the default device has no float64, so that PyTorch's
 * float64 goldens also check such a device (compare at a float32 tolerance).
 */
export function onDefaultDevice<T extends { dtype: DType }>(spec: T): T {
  return spec.dtype === "float64" && !backendSupports(getDefaultDevice(), "float64") ? { ...spec, dtype: "float32" } : spec;
}

// The test running now, so that a backend can skip it when it meets a dtype it does not support.
let currentTest: TestContext | undefined;

/**
 * Wraps a backend so that a test asking it for an unsupported dtype is skipped (with the reason)
 * instead of failing: shared suites use float64 fixtures that a float32-only device cannot hold.
 * Outside a test the backend's own error is thrown.
 */
function skipping(backend: Backend, device: string, unsupported: readonly DType[]): Backend {
  const check = (dtype: DType) => {
    if (unsupported.includes(dtype) && currentTest !== undefined) {
      currentTest.skip(`${dtype} is not supported on the ${device} backend`);
    }
  };
  const w = Object.create(backend) as Backend & Record<string, unknown>;
  w.alloc = (n, dtype) => (check(dtype), backend.alloc(n, dtype));
  w.upload = (v, dtype) => (check(dtype), backend.upload(v, dtype));
  w.copy = (x, dtype) => (check(dtype), backend.copy(x, dtype));
  w.unary = (op, x, dtype) => (check(dtype), backend.unary(op, x, dtype));
  w.binary = (op, a, b, dtype) => (check(dtype), backend.binary(op, a, b, dtype));
  w.where = (c, a, b, dtype) => (check(dtype), backend.where(c, a, b, dtype));
  w.reduce = (op, x, dims, dtype) => (check(dtype), backend.reduce(op, x, dims, dtype));
  w.scan = (op, x, dim, dtype) => (check(dtype), backend.scan(op, x, dim, dtype));
  w.matmul = (a, b, dtype) => (check(dtype), backend.matmul(a, b, dtype));
  return w;
}

// DL_NUM_THREADS=n runs the CPU backend's matmul and convolutions on n threads, every product
// through the thread pool however small (results must not change: the same bits for any n).
if (Number(process.env.DL_NUM_THREADS ?? 0) > 0) {
  const { setThreadMinWork } = await import("../../packages/backend-cpu/src/threads/runner.js");
  setNumThreads(Number(process.env.DL_NUM_THREADS));
  setThreadMinWork(0);
  beforeAll(() => threadsReady());
}

// DL_TEST_GPU=1 adds the gpu.js backend (run under `xvfb-run -a` in Node). It is added only when a
// GL context can be created; test/gpu/*.test.ts fail loudly when it cannot.
if (process.env.DL_TEST_GPU === "1") {
  const { createGpuBackend } = await import("@dl/backend-gpu");
  const { gpuKnownFailures } = await import("../gpu/known-failures.js");
  try {
    const unsupported: DType[] = ["float64"];
    testBackends.push({ device: "gpu", backend: skipping(createGpuBackend(), "gpu", unsupported), unsupported, knownFailures: gpuKnownFailures });
  } catch (e) {
    console.warn(`DL_TEST_GPU=1 but the gpu backend is unavailable, shared suites run on the CPU only: ${(e as Error).message}`);
  }
}

/** "suite > ... > test" for a running test. */
function fullName(ctx: TestContext): string {
  const names: string[] = [ctx.task.name];
  for (let s = ctx.task.suite; s !== undefined; s = s.suite) if (s.name) names.unshift(s.name);
  return names.join(" > ");
}

export function describeEachBackend(title: string, body: (device: string) => void): void {
  for (const { device, backend, unsupported, knownFailures } of testBackends) {
    describe(`${title} [${device}]`, () => {
      // Registered while collecting too: suites may ask getBackend(device) outside their tests.
      registerBackend(backend);
      beforeAll(() => {
        registerBackend(backend);
        setDefaultDevice(device);
      });
      if (unsupported !== undefined || knownFailures !== undefined) {
        beforeEach((ctx) => {
          const known = knownFailures?.find((k) => k.pattern.test(fullName(ctx)));
          if (known) ctx.skip(`known ${device} failure: ${known.reason}`);
          currentTest = ctx;
        });
        afterEach(() => {
          currentTest = undefined;
        });
      }
      body(device);
    });
  }
}
