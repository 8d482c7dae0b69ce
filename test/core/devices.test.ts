import { cpuBackend } from "@dl/backend-cpu";
import {
  ArgumentError,
  DLError,
  DTypeError,
  DeviceError,
  IndexError,
  ShapeError,
  add,
  maskedFill_,
  deviceType,
  getBackend,
  getDefaultDevice,
  hasBackend,
  registerBackend,
  setDefaultDevice,
  tensor,
  zeros,
} from "@dl/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

describeEachBackend("devices", (device) => {
  it("an unknown device names itself, the registered ones, and how to register", () => {
    expect(() => tensor([1], { device: "tpu" })).toThrow(DeviceError);
    expect(() => tensor([1], { device: "tpu" })).toThrow(/^tensor: no backend registered for device 'tpu' \(registered: .*cpu.*registerBackend\(cpuBackend\)/);
    expect(() => tensor([1]).to("tpu")).toThrow(/^to: no backend registered for device 'tpu'/);
    expect(() => zeros(2, { device: "tpu" })).toThrow(/^zeros: no backend registered for device 'tpu'/);
    expect(() => setDefaultDevice("tpu")).toThrow(/^setDefaultDevice: /);
    expect(getDefaultDevice()).toBe(device);
    expect(() => getBackend("nope")).toThrow(DeviceError);
    expect(hasBackend("nope")).toBe(false);
  });

  it(".to(own device) is the identity; copy: true makes a new tensor", () => {
    const x = tensor([1, 2]);
    expect(x.to(device)).toBe(x);
    expect(x.to({ device })).toBe(x);
    const c = x.to(device, { copy: true });
    expect(c).not.toBe(x);
    expect(c._storage).not.toBe(x._storage);
    expect(c.tolist()).toEqual([1, 2]);
  });

  it("zero_ and fill_ on this device work while the default device is cpu (the model.to(device) route)", () => {
    const x = tensor([1, 2, 3]);
    setDefaultDevice("cpu");
    try {
      expect(x.zero_().device).toBe(device);
      expect(x.fill_(4).tolist()).toEqual([4, 4, 4]);
    } finally {
      setDefaultDevice(device);
    }
  });

  it("device strings may carry an index", () => {
    expect(deviceType("cuda:1")).toBe("cuda");
    expect(deviceType("cpu")).toBe("cpu");
    expect(hasBackend("cpu:0")).toBe(true);
  });
});

describe("two devices in one op", () => {
  registerBackend({ ...cpuBackend, name: "cpu2" });
  afterAll(() => setDefaultDevice("cpu"));

  it("tensors on different devices raise DeviceError naming both", () => {
    const a = tensor([1, 2]);
    const b = tensor([3, 4], { device: "cpu2" });
    expect(b.device).toBe("cpu2");
    expect(() => add(a, b)).toThrow(DeviceError);
    expect(() => add(a, b)).toThrow("add: expected all tensors to be on the same device, but found at least two devices, cpu and cpu2");
    // In-place writes move the source like PyTorch's copy_ (any device), fill_ stays on device.
    a.copy_(b);
    expect(a.tolist()).toEqual([3, 4]);
  });

  it("to() moves between devices and back, keeping values and dtype", () => {
    const a = tensor([[1.5, 2.5]], { dtype: "float64" });
    const b = a.to("cpu2");
    expect(b.device).toBe("cpu2");
    expect(b.dtype).toBe("float64");
    expect(b._storage).not.toBe(a._storage);
    expect(b.tolist()).toEqual([[1.5, 2.5]]);
    const c = b.to({ device: "cpu", dtype: "int32" });
    expect(c.device).toBe("cpu");
    expect(c.dtype).toBe("int32");
    expect(c.tolist()).toEqual([[1, 2]]);
    expect(b.cpu().device).toBe("cpu");
    expect(String(b)).toBe("tensor([[1.5000, 2.5000]], device='cpu2', dtype=torch.float64)");
  });

  it("in-place fills and scalar helpers stay on the tensor's device, not the default one", () => {
    // The scalar written by zero_/fill_ was made on the default device (a DeviceError for a cpu2 tensor).
    const x = tensor([1, 2, 3], { device: "cpu2" });
    expect(x.zero_().tolist()).toEqual([0, 0, 0]);
    expect(x.fill_(2).tolist()).toEqual([2, 2, 2]);
    expect(x.fill_(true).device).toBe("cpu2");
    const m = tensor([true, false, true], { device: "cpu2" });
    expect(maskedFill_(x.clone(), m, 5).tolist()).toEqual([5, 1, 5]);
    expect(add(x, 1).device).toBe("cpu2");
  });

  it("setDefaultDevice routes factories", () => {
    setDefaultDevice("cpu2");
    expect(zeros(1).device).toBe("cpu2");
    setDefaultDevice("cpu");
    expect(zeros(1).device).toBe("cpu");
  });
});

describe("typed errors", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const cases: [string, () => unknown, typeof DLError, RegExp][] = [
    ["view", () => x.view(4), ShapeError, /^view: shape \[4\] is invalid for input of size 6/],
    ["reshape", () => x.reshape(-1, -1), ShapeError, /^reshape: only one dimension can be inferred/],
    ["expand", () => x.expand(3, 3), ShapeError, /^expand: the expanded size of the tensor \(3\) must match the existing size \(2\) at non-singleton dimension 0/],
    ["transpose", () => x.transpose(0, 5), IndexError, /^transpose: dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)/],
    ["select", () => x.select(1, 3), IndexError, /^select: index 3 is out of bounds for dimension 1 with size 3/],
    ["narrow", () => x.narrow(1, 2, 2), IndexError, /^narrow: start \(2\) \+ length \(2\) exceeds dimension size \(3\)/],
    ["squeeze", () => x.squeeze(2), IndexError, /^squeeze: dimension out of range/],
    ["permute", () => x.permute(0, 0), IndexError, /^permute: /],
    ["movedim", () => x.movedim([0, 1], [1]), ArgumentError, /^movedim: invalid source or destination dims/],
    ["diagonal", () => x.diagonal(0, 1, -1), ArgumentError, /^diagonal: diagonal dimensions cannot be identical/],
    ["unfold", () => x.unfold(1, 2, 0), ArgumentError, /^unfold: step is 0 but must be > 0/],
    ["index", () => x.index(0, 0, 0), IndexError, /^index: too many indices for tensor of dimension 2 \(got 3\)/],
    ["copy_", () => x.copy_(tensor([1, 2])), ShapeError, /^copy_: shapes \[2,3\] and \[2\] cannot be broadcast/],
    ["copy_", () => x.copy_(zeros(2, 2, 3)), ShapeError, /^copy_: output with shape \[2,3\] doesn't match the broadcast shape \[2,2,3\]/],
    ["item", () => x.item(), ArgumentError, /^item: a Tensor with 6 elements cannot be converted to a scalar/],
    ["requiresGrad_", () => tensor([1], { dtype: "int32" }).requiresGrad_(), DTypeError, /^requiresGrad_: only tensors of floating point dtype can require gradients, got int32/],
  ];
  it.each(cases)("%s throws a typed error whose message starts with the op name", (op, fn, type, msg) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(type);
    expect(err).toBeInstanceOf(DLError);
    expect(err).toBeInstanceOf(Error);
    expect((err as DLError).op).toBe(op);
    expect((err as DLError).name).toBe(type.name);
    expect((err as DLError).message).toMatch(msg);
  });

  it("fill_ casts the value to the tensor's dtype as PyTorch (truncation for integers)", () => {
    expect(tensor([1, 2], { dtype: "int64" }).fill_(2.7).tolist()).toEqual([2, 2]);
    expect(tensor([1, 2], { dtype: "bool" }).fill_(0).tolist()).toEqual([false, false]);
  });

  it("failed in-place writes leave the target untouched", () => {
    const y = tensor([1, 2, 3]);
    expect(() => y.copy_(tensor([1, 2]))).toThrow(ShapeError);
    expect(() => y.index("0:2").copy_(tensor([[1, 2], [3, 4]]))).toThrow(ShapeError);
    expect(y.tolist()).toEqual([1, 2, 3]);
  });
});
