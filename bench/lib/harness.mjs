// Timing: every library runs the same workload in turns, one call each per round; medians.

/** Deterministic inputs in [-1, 1), shared by every library. */
export function values(n, seed, scale = 1) {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (((s >>> 0) / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

export const numel = (shape) => shape.reduce((p, s) => p * s, 1);

/** Reads a result (a tensor or an array of tensors) into one flat array, then disposes it. */
function readAll(r) {
  const ts = Array.isArray(r) ? r : [r];
  const parts = ts.map((t) => t.dataSync());
  for (const t of ts) t.dispose();
  if (parts.length === 1) return parts[0];
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One timed call: compute, read every value back (dataSync), free. */
function timeOnce(run) {
  const t0 = performance.now();
  const r = run();
  const data = readAll(r);
  return { ms: performance.now() - t0, data };
}

export const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/**
 * Median ms per library for one workload. `entries`: { activate, run, liveCount? } per library
 * (null for a library that cannot run it). The libraries take turns, one call each per round, so
 * that they share the machine's state alike: background load on a shared machine, and the allocator
 * (the first calls that allocate megabytes page-fault until malloc adapts). The result compared
 * across libraries is that of the FIRST call (training steps change the weights afterwards).
 * `liveCount` (dl) measures leaks: live storages after the first call vs after the last. A call
 * slower than timing.slowMs is not repeated: its first call is the measurement.
 */
export async function measure(entries, timing) {
  const active = entries.map((e) => e !== null);
  const times = entries.map(() => []);
  const out = entries.map(() => ({}));
  for (const [i, e] of entries.entries()) {
    if (!e) continue;
    await e.activate();
    try {
      // A slow first call (tfjs cpu on matmul 1024 takes seconds) is warmup enough.
      const first = timeOnce(e.run);
      out[i].result = first.data;
      out[i].liveAfterFirst = e.liveCount?.();
      out[i].calls = 0;
      if (first.ms >= timing.slowMs) {
        // Seconds per call (tfjs cpu's conv backprop): the first call is the measurement.
        times[i].push(first.ms);
        active[i] = false;
        out[i].median = first.ms;
        out[i].reps = 1;
        continue;
      }
      for (let k = 1; k < timing.warmup && first.ms < 1000; k++, out[i].calls++) timeOnce(e.run);
    } catch (err) {
      active[i] = false;
      out[i].error = err;
    }
  }
  const start = performance.now();
  for (let round = 0; round < timing.minReps || (round < timing.maxReps && performance.now() - start < timing.budgetMs); round++) {
    for (const [i, e] of entries.entries()) {
      if (!active[i]) continue;
      await e.activate();
      try {
        times[i].push(timeOnce(e.run).ms);
        out[i].calls++;
      } catch (err) {
        active[i] = false;
        out[i].error = err;
      }
    }
  }
  return entries.map((e, i) => {
    const o = out[i];
    if (!e || !active[i]) return o; // failed, or measured by its first call (slow)
    const leak = e.liveCount && o.liveAfterFirst !== undefined ? (e.liveCount() - o.liveAfterFirst) / Math.max(1, o.calls) : undefined;
    return { ...o, median: median(times[i]), reps: times[i].length, leakPerCall: leak };
  });
}

export function maxAbsDiff(a, b) {
  if (!a || !b || a.length !== b.length) return Number.NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
