// Checks of the CPU backend's storage free list (packages/backend-cpu/src/storage.ts): reused arrays
// come back zeroed from alloc(), memory() counts live storages only, the pool stays under its cap,
// and kernels that take non-zeroed arrays (allocArrayUninit) overwrite every element: the pool is
// filled with NaN-poisoned arrays of the output's size before each kernel runs. Returns failures.

export function checkStorage(dl) {
  const failures = [];
  const { cpuBackend: b, storage: s } = dl;
  const fail = (m) => failures.push(`storage: ${m}`);
  const missing = ["allocArrayUninit", "freeArray", "pooledMemory", "releasePool"].filter((f) => typeof s?.[f] !== "function");
  if (missing.length) {
    fail(`storage.ts does not export ${missing.join(", ")} (with --dist: a stale build? run pnpm build)`);
    return failures;
  }
  const mem = () => b.memory();

  // alloc() of a reused array gives zeros; memory() counts live storages/bytes exactly.
  s.releasePool();
  const base = mem();
  const a = b.alloc(1000, "float32");
  a.fill(7);
  if (mem().storages !== base.storages + 1 || mem().bytes !== base.bytes + 4000)
    fail(`memory() after alloc: ${JSON.stringify(mem())} from ${JSON.stringify(base)}`);
  b.dispose(a);
  b.dispose(a); // a second dispose must not pool it twice
  if (mem().storages !== base.storages || mem().bytes !== base.bytes)
    fail(`memory() after dispose: ${JSON.stringify(mem())} from ${JSON.stringify(base)}`);
  if (s.pooledMemory() !== 4000) fail(`pooled bytes ${s.pooledMemory()} after one 4000-byte dispose`);
  const a2 = b.alloc(1000, "float32");
  if (a2 !== a) fail("alloc did not reuse the freed array of the same dtype and length");
  if (a2.some((v) => v !== 0)) fail("alloc returned a reused array that is not zero-filled");
  const c = b.alloc(1000, "int32"); // another element type: never the pooled Float32Array
  if (c === a || !(c instanceof Int32Array)) fail("alloc(int32) returned a pooled array of another type");
  const c2 = b.alloc(1000, "float32");
  if (c2 === a2) fail("a live array was handed out twice");
  for (const t of [a2, c, c2]) b.dispose(t);

  // The cap: 100 x 1 MiB freed -> at most 64 MiB pooled, and memory() back to the baseline.
  const big = Array.from({ length: 100 }, () => b.alloc(1 << 18, "float32"));
  for (const t of big) b.dispose(t);
  if (s.pooledMemory() > 64 * 1024 * 1024) fail(`pool holds ${s.pooledMemory()} bytes, over its 64 MiB cap`);
  if (mem().storages !== base.storages || mem().bytes !== base.bytes) fail(`memory() counts pooled arrays: ${JSON.stringify(mem())}`);
  s.releasePool();
  if (s.pooledMemory() !== 0) fail("releasePool left bytes pooled");

  // Kernels on dirty reused arrays: poison the pool with NaN arrays of the output's length and type.
  const poison = (n, dtype) => {
    const arrays = Array.from({ length: 4 }, () => s.allocArrayUninit(n, dtype));
    for (const p of arrays) {
      p.fill(dtype === "bool" ? 9 : Number.NaN);
      s.freeArray(p);
    }
  };
  const x = dl.fromArray(
    Float32Array.from({ length: 60 }, (_, i) => (i % 7) - 3),
    [3, 4, 5],
  );
  const y = dl.fromArray(
    Float32Array.from({ length: 5 }, (_, i) => i + 1),
    [5],
  );
  const cases = [
    ["unary contiguous", () => dl.neg(x), (i, v) => v === -((i % 7) - 3)],
    ["unary transposed", () => dl.abs(x.permute([2, 0, 1])), (_i, v) => Number.isFinite(v) && v >= 0],
    ["binary broadcast", () => dl.add(x, y), (i, v) => v === (i % 7) - 3 + ((i % 5) + 1)],
    ["binary strided", () => dl.mul(x.slice(2, 0, 5, 2), 2), (_i, v) => Number.isFinite(v)],
    ["where", () => dl.where(dl.gt(x, 0), x, y), (_i, v) => Number.isFinite(v)],
    ["copy transposed", () => x.transpose(0, 2).contiguous(), (_i, v) => Number.isFinite(v)],
    ["copy to float64", () => x.to("float64"), (i, v) => v === (i % 7) - 3],
    ["compare to bool", () => dl.gt(x, 0), (i, v) => v === ((i % 7) - 3 > 0 ? 1 : 0)],
    ["matmul", () => dl.matmul(x, x.transpose(1, 2)), (_i, v) => Number.isFinite(v)],
    ["matmul k=0", () => dl.matmul(dl.zeros([3, 0]), dl.zeros([0, 4])), (_i, v) => v === 0],
    ["scalar", () => dl.add(dl.tensor(2), 3), (_i, v) => v === 5],
  ];
  for (const [name, fn, ok] of cases) {
    const probe = fn();
    const n = probe.numel();
    const dtype = probe.dtype;
    probe.dispose();
    s.releasePool();
    poison(n, dtype);
    const r = fn();
    const v = r.dataSync();
    r.dispose();
    const bad = Array.from(v).findIndex((e, i) => !ok(i, Number(e)));
    if (bad >= 0) fail(`${name}: element ${bad} is ${v[bad]} on a reused (poisoned) array`);
  }
  x.dispose();
  y.dispose();
  s.releasePool();
  return failures;
}
