import { CenterCrop, Compose, Lambda, Normalize, RandomCrop, RandomHorizontalFlip, RandomVerticalFlip, ToTensor, padImage } from "@dl/data";
import { DTypeError, Generator, ShapeError, Tensor, arange, flip, mul, tensor } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("data");

describeEachBackend("transforms", () => {
  it("ToTensor matches torchvision: uint8 HWC -> float CHW / 255, 2-D -> [1, H, W], float arrays unscaled", () => {
    for (const c of fx.to_tensor as { shape: number[]; data: number[]; kind: string; expected: TSpec }[]) {
      const data = c.kind === "uint8" ? Uint8Array.from(c.data) : Float32Array.from(c.data);
      const t = new ToTensor().forward({ data, shape: c.shape });
      expectClose(t, c.expected, { rtol: 0, atol: 0 });
    }
  });

  it("ToTensor takes ImageData-like input ({ data, width, height }, RGBA) and infers channels", () => {
    const data = new Uint8ClampedArray([255, 0, 0, 255, 0, 51, 0, 255]); // 1x2 RGBA
    const t = new ToTensor().forward({ data, width: 2, height: 1 });
    expect(t.shape).toEqual([4, 1, 2]);
    expect(t.dtype).toBe("float32");
    expect(Array.from(t.dataSync())).toEqual([1, 0, 0, 0.20000000298023224, 0, 0, 1, 1]);
    expect(new ToTensor().forward({ data: new Float64Array(6), shape: [1, 2, 3] }).dtype).toBe("float64");
    expect(new ToTensor().forward({ data: new Int32Array(6), shape: [1, 2, 3] }).dtype).toBe("int32");
    expect(() => new ToTensor().forward({ data: new Uint8Array(5), width: 2, height: 1 })).toThrow(ShapeError);
    expect(() => new ToTensor().forward({ data: new Uint8Array(4), shape: [1, 1, 2, 2] })).toThrow(/2\/3 dimensional/);
  });

  it("Normalize matches torchvision (batched input), inplace, errors", () => {
    const c = fx.normalize as { x: TSpec; mean: number[]; std: number[]; expected: TSpec };
    const x = fromSpec(c.x);
    const n = new Normalize(c.mean, c.std);
    expectClose(n.forward(x), c.expected);
    expectClose(x, c.x); // not modified
    const y = fromSpec(c.x);
    const out = new Normalize(c.mean, c.std, { inplace: true }).forward(y);
    expect(out).toBe(y);
    expectClose(y, c.expected);
    expect(() => n.forward(tensor([[[1]]], { dtype: "int64" }))).toThrow(DTypeError);
    expect(() => n.forward(tensor([[[1]]], { dtype: "int64" }))).toThrow(/Input tensor should be a float tensor. Got int64/);
    expect(() => n.forward(tensor([[1, 2]]))).toThrow(/Expected tensor to be a tensor image of size \(\.\.\., C, H, W\). Got tensor.size\(\) = \[1,2\]/);
    expect(() => new Normalize([0], [0]).forward(tensor([[[1]]]))).toThrow(/std evaluated to zero after conversion to float32, leading to division by zero/);
  });

  it("padImage matches torchvision's padding modes (constant fill, edge, reflect, symmetric)", () => {
    const p = fx.pad as { x: TSpec; cases: { mode: "constant" | "edge" | "reflect" | "symmetric"; padding: number[]; fill: number; expected: TSpec }[] };
    const x = fromSpec(p.x);
    for (const c of p.cases) {
      expectClose(padImage(x, c.padding, { paddingMode: c.mode, fill: c.fill }), c.expected, { rtol: 0, atol: 0 });
    }
  });

  it("CenterCrop matches torchvision (Python rounding, zero padding when larger)", () => {
    const c = fx.center_crop as { x: TSpec; cases: { size: number[]; expected: TSpec }[] };
    const x = fromSpec(c.x);
    for (const k of c.cases) expectClose(new CenterCrop(k.size).forward(x), k.expected, { rtol: 0, atol: 0 });
  });

  it("RandomCrop: the output is a window of the (padded) input; seeded positions; covers all offsets", () => {
    const img = arange(2 * 5 * 6).reshape(2, 5, 6).float();
    const crop = new RandomCrop([3, 4], { generator: new Generator(1) });
    const seen = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const out = crop.forward(img);
      expect(out.shape).toEqual([2, 3, 4]);
      const v = out.tolist() as number[][][];
      const first = v[0]?.[0]?.[0] as number;
      const top = Math.floor(first / 6);
      const left = first % 6;
      expect(out.tolist()).toEqual(img.index(":", `${top}:${top + 3}`, `${left}:${left + 4}`).tolist());
      seen.add(`${top},${left}`);
    }
    expect(seen.size).toBe(3 * 3);
    const a = new RandomCrop(3, { generator: new Generator(8) });
    const b = new RandomCrop(3, { generator: new Generator(8) });
    for (let k = 0; k < 5; k++) expect(a.forward(img).tolist()).toEqual(b.forward(img).tolist());
    expect(new RandomCrop([5, 6]).forward(img).tolist()).toEqual(img.tolist());
  });

  it("RandomCrop: padding (CIFAR style), padIfNeeded, size errors", () => {
    const img = mul(arange(3 * 4 * 4).reshape(3, 4, 4).float(), 1);
    const crop = new RandomCrop(4, { padding: 2, generator: new Generator(3) });
    let zeros = 0;
    for (let k = 0; k < 20; k++) {
      const out = crop.forward(img);
      expect(out.shape).toEqual([3, 4, 4]);
      if ((out.tolist() as number[][][])[0]?.some((row) => row.some((v) => v === 0))) zeros++;
    }
    expect(zeros).toBeGreaterThan(0);
    const up = new RandomCrop([6, 5], { padIfNeeded: true, fill: -1 }).forward(img);
    expect(up.shape).toEqual([3, 6, 5]);
    expect(() => new RandomCrop(5).forward(img)).toThrow(/Required crop size \(5, 5\) is larger than input image size \(4, 4\)/);
    expect(() => new RandomCrop(0)).toThrow(/size should be a positive int/);
    expect(() => new RandomCrop(2, { padding: [1, 2, 3] })).toThrow(/Padding must be an int or a 1, 2, or 4 element tuple/);
  });

  it("RandomHorizontalFlip / RandomVerticalFlip: p=1 flips, p=0 never, seeded p=0.5 flips about half", () => {
    const img = arange(6).reshape(1, 2, 3).float();
    expect(new RandomHorizontalFlip(1).forward(img).tolist()).toEqual(flip(img, -1).tolist());
    expect(new RandomHorizontalFlip(0).forward(img)).toBe(img);
    expect(new RandomVerticalFlip(1).forward(img).tolist()).toEqual(flip(img, -2).tolist());
    const f = new RandomHorizontalFlip(0.5, { generator: new Generator(2) });
    let flipped = 0;
    for (let k = 0; k < 400; k++) if (f.forward(img) !== img) flipped++;
    expect(flipped).toBeGreaterThan(160);
    expect(flipped).toBeLessThan(240);
    const g1 = new RandomHorizontalFlip(0.5, { generator: new Generator(4) });
    const g2 = new RandomHorizontalFlip(0.5, { generator: new Generator(4) });
    for (let k = 0; k < 10; k++) expect(g1.forward(img) === img).toBe(g2.forward(img) === img);
    expect(() => new RandomHorizontalFlip(2)).toThrow(/p should be a probability/);
  });

  it("Compose and Lambda chain transform objects and functions", () => {
    const t = new Compose<{ data: Uint8Array; shape: number[] }, Tensor>([
      new ToTensor(),
      new Normalize([0.5], [0.5]),
      new Lambda((x: Tensor) => x.reshape(-1)),
      (x: Tensor) => mul(x, 2),
    ]);
    const out = t.forward({ data: new Uint8Array([0, 255, 51]), shape: [1, 3] });
    expect(out.shape).toEqual([3]);
    expect(Array.from(out.dataSync()).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([-2, 2, -1.2]);
    expect(() => new Lambda(3 as never)).toThrow(/argument should be callable/);
  });
});
