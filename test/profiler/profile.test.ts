import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "@dl/autograd";
import { Conv2d, CrossEntropyLoss, Linear, MaxPool2d, Module, ReLU } from "@dl/nn";
import { profile, recordFunction } from "@dl/profiler";
import { type Tensor, getBackend, manualSeed, randint, randn } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

class SmallCNN extends Module {
  conv = new Conv2d(1, 4, 3, { padding: 1 });
  relu = new ReLU();
  pool = new MaxPool2d(2);
  fc = new Linear(4 * 4 * 4, 10);
  forward(x: Tensor): Tensor {
    x = this.pool(this.relu(this.conv(x)));
    return this.fc(x.view(x.size(0), -1));
  }
}

describeEachBackend("profiler (torch.profiler)", (device) => {
  it("records ops, modules and backward nodes, nested, with shapes and memory; table and Chrome trace", async () => {
    manualSeed(0);
    const model = new SmallCNN();
    const x = randn(2, 1, 8, 8);
    const y = randint(0, 10, [2]);
    const backend = getBackend(device);
    const before = { matmul: backend.matmul, unary: backend.unary, fused: backend.fused };
    const prof = profile({ recordShapes: true, profileMemory: true }, () => {
      recordFunction("train_step", () => {
        const loss = new CrossEntropyLoss()(model(x), y);
        loss.backward();
      });
    });
    // Nothing stays instrumented.
    expect(backend.matmul).toBe(before.matmul);
    expect(backend.unary).toBe(before.unary);
    expect(backend.fused).toBe(before.fused);

    const names = prof.events.map((e) => e.name);
    expect(names[0]).toBe("train_step");
    for (const n of ["nn.Module: SmallCNN", "nn.Module: Conv2d", "nn.Module: Linear", "dl::matmul"]) expect(names).toContain(n);
    expect(names.some((n) => n.startsWith("autograd::engine::evaluate_function: ") && n.endsWith("Backward0"))).toBe(true);
    // Every event nests inside its parent.
    for (const e of prof.events) {
      expect(e.end).toBeGreaterThanOrEqual(e.start);
      if (e.parent >= 0) {
        const p = prof.events[e.parent] as (typeof prof.events)[number];
        expect(e.start).toBeGreaterThanOrEqual(p.start);
        expect(e.end).toBeLessThanOrEqual(p.end);
        expect(e.depth).toBe(p.depth + 1);
      }
    }
    const linear = prof.events.find((e) => e.name === "nn.Module: Linear");
    const mm = prof.events.find((e) => e.name === "dl::matmul" && e.parent === prof.events.indexOf(linear as never));
    expect(mm?.device).toBe(device);
    expect(mm?.inputShapes).toEqual([
      [1, 2, 64],
      [1, 64, 10],
    ]);
    expect(prof.events.some((e) => (e.bytes ?? 0) > 0)).toBe(true);

    const rows = prof.keyAverages();
    const mmRow = rows.find((r) => r.key === "dl::matmul");
    expect(mmRow?.count).toBe(prof.events.filter((e) => e.name === "dl::matmul").length);
    const table = rows.table({ sortBy: "self_cpu_time_total", rowLimit: 5 });
    const lines = table.split("\n");
    expect(lines[1]).toMatch(/^\s*Name\s+Self CPU %\s+Self CPU\s+CPU total %\s+CPU total\s+CPU time avg\s+CPU Mem\s+Self CPU Mem\s+# of Calls$/);
    expect(lines).toHaveLength(5 + 5);
    expect(lines[lines.length - 1]).toMatch(/^Self CPU time total: \d+\.\d{3}(us|ms|s)$/);
    // The self times of all rows add up to the total that the percentages divide.
    const selfSum = rows.reduce((s, r) => s + r.selfCpuTimeTotal, 0);
    expect(selfSum).toBeCloseTo(rows.selfCpuTimeTotal, 6);

    const dir = mkdtempSync(join(tmpdir(), "dl-trace-"));
    try {
      const file = join(dir, "trace.json");
      await prof.exportChromeTrace(file);
      const trace = JSON.parse(readFileSync(file, "utf8")) as { traceEvents: { name: string; ph: string; ts: number; dur: number; args: Record<string, unknown> }[] };
      expect(trace.traceEvents).toHaveLength(prof.events.length);
      expect(trace.traceEvents.every((e) => e.ph === "X" && e.dur >= 0 && Number.isFinite(e.ts))).toBe(true);
      const traced = trace.traceEvents.find((e) => e.name === "dl::matmul");
      expect(traced?.args.Device).toBe(device);
      expect(Array.isArray(traced?.args["Input Dims"])).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an exception inside fn closes every range and uninstruments; profiles do not nest", () => {
    const backend = getBackend(device);
    const matmul = backend.matmul;
    expect(() =>
      profile(() => {
        randn(2, 2);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(backend.matmul).toBe(matmul);
    expect(() => profile(() => profile(() => {}))).toThrow(/already running/);
  });
});
