import { cpuBackend } from "@dl/backend-cpu";
import { DeviceError, getBackend } from "@dl/tensor";
import { afterEach, describe, expect, it } from "vitest";

/**
 * Two copies of @dl/tensor in one app (a nested node_modules) each hold their own backend registry:
 * a backend registered through one is missing in the other. The error must say so.
 */
describe("a second copy of @dl/tensor", () => {
  const copies = (globalThis as Record<symbol, unknown>)[Symbol.for("@dl/tensor registries")] as Map<string, unknown>[];
  const other = new Map<string, unknown>([["npu", cpuBackend]]);
  afterEach(() => {
    const i = copies.indexOf(other);
    if (i >= 0) copies.splice(i, 1);
  });

  it("is named when a device is registered only in the other copy", () => {
    copies.push(other);
    expect(() => getBackend("npu")).toThrow(DeviceError);
    expect(() => getBackend("npu")).toThrow(/two copies of @dl\/tensor are loaded/);
  });

  it("is not blamed for a device that no copy has", () => {
    expect(() => getBackend("npu")).toThrow(/no backend registered for device 'npu'/);
    expect(() => getBackend("npu")).not.toThrow(/two copies/);
  });
});
