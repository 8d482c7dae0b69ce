import { Size, formatTensor, fromHost, getDefaultDtype, printOptions, setPrintOptions, tensor, zeros } from "@dl/tensor";
import { afterEach, describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, decode, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("core");
const cases = fx.printing as { t: TSpec; requiresGrad: boolean; repr: string }[];

describeEachBackend("toString matches PyTorch's repr", (device) => {
  it.each(cases.map((c, i) => [i, c.repr.split("\n")[0] as string, c] as const))("case %i: %s", (_i, _head, c) => {
    const make = (dev: string) => fromHost(c.t.data.map(decode), c.t.shape, { dtype: c.t.dtype, requiresGrad: c.requiresGrad, device: dev });
    const t = make(device);
    // Other devices add a device='...' suffix (and may wrap differently); the cpu repr is PyTorch's.
    const onCpu = device === "cpu" ? t : make("cpu");
    expect(onCpu.toString()).toBe(c.repr);
    expect(String(onCpu)).toBe(c.repr);
    if (device !== "cpu") expect(t.toString()).toContain(`device='${device}'`);
  });
});

describe("print options", () => {
  const saved = { ...printOptions };
  afterEach(() => setPrintOptions(saved));

  it("precision changes the number of decimals", () => {
    setPrintOptions({ precision: 2 });
    expect(tensor([1.125, 2.5]).toString()).toBe("tensor([1.12, 2.50])");
  });

  it("sciMode forces scientific notation", () => {
    setPrintOptions({ sciMode: true });
    expect(tensor([1.5, 2]).toString()).toBe("tensor([1.5000e+00, 2.0000e+00])");
  });

  it("a disposed tensor prints as disposed instead of throwing", () => {
    const t = tensor([1, 2]);
    t.dispose();
    expect(formatTensor(t)).toBe("tensor(<disposed>)");
    expect(getDefaultDtype()).toBe("float32");
  });
});

describe("size() prints as torch.Size", () => {
  it("String, template literals and util.inspect give [4, 3]", async () => {
    const { inspect } = await import("node:util");
    const s = zeros([4, 3]).size();
    expect(String(s)).toBe("[4, 3]");
    expect(`${s}`).toBe("[4, 3]");
    expect(inspect(s)).toBe("[4, 3]");
    expect(`${zeros([]).size()}`).toBe("[]");
    expect(`${zeros([7]).size()}`).toBe("[7]");
  });

  it("is a frozen array equal to the shape", () => {
    const t = zeros([2, 0, 5]);
    const s = t.size();
    expect(s).toBeInstanceOf(Size);
    expect(Array.isArray(s)).toBe(true);
    expect([...s]).toEqual([2, 0, 5]);
    expect(s.length).toBe(3);
    expect(Object.isFrozen(s)).toBe(true);
    expect(t.size(-1)).toBe(5);
  });
});
