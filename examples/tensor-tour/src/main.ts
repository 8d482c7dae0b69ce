/**
 * A tour of tensors with dl, following "PyTorch Fundamentals: Tensors and Operations" step by
 * step. Every print uses the tutorial's label, and tensors print exactly as PyTorch prints them,
 * so the output can be read side by side with the tutorial's.
 *
 * Run: pnpm --filter @dl/example-tensor-tour start
 */
import { pathToFileURL } from "node:url";
import "@dl/backend-cpu/register";
import {
  add,
  arange,
  cat,
  chunk,
  div,
  fromArray,
  hasBackend,
  manualSeed,
  matmul,
  mul,
  ones,
  rand,
  randn,
  split,
  stack,
  sub,
  type Tensor,
  tensor,
  zeros,
} from "@dl/tensor";

/** Shapes print as arrays, e.g. [2, 3] where PyTorch prints torch.Size([2, 3]). */
const size = (t: Tensor) => `[${t.shape.join(", ")}]`;

export function main(print: (line: string) => void = console.log): void {
  const section = (title: string) => print(`\n=== ${title} ===`);

  // ---- Tensor creation ----
  section("Tensor creation");
  // JS numbers carry no int/float distinction: ask for int64 to get what torch.tensor gives for ints.
  const data = [
    [1, 2],
    [3, 4],
  ];
  const xData = tensor(data, { dtype: "int64" });
  print(`From list: ${xData}`);

  // The analogue of torch.from_numpy: a flat typed array plus a shape.
  const xFlat = fromArray(new Float64Array([1, 2, 3, 4]), [2, 2], { dtype: "int64" });
  print(`From a flat array: ${xFlat}`);

  const onesTensor = ones(2, 3);
  print(`Ones tensor:\n${onesTensor}`);
  const zerosTensor = zeros(2, 3);
  print(`Zeros tensor:\n${zerosTensor}`);

  // Seeded, so every run prints the same numbers (dl's generator differs from PyTorch's).
  manualSeed(0);
  const randTensor = rand(2, 3);
  print(`Random tensor:\n${randTensor}`);
  const randnTensor = randn(2, 3);
  print(`Random normal tensor:\n${randnTensor}`);

  const intTensor = tensor([1, 2, 3], { dtype: "int32" });
  print(`Int tensor: ${intTensor}, dtype: ${intTensor.dtype}`);

  // ---- Data types ----
  section("Tensor data types");
  const xf = tensor([1.0, 2.0]);
  print(xf.dtype); // float32
  const yi = tensor([1, 2], { dtype: "int64" });
  print(yi.dtype); // int64

  // ---- Devices ----
  section("Device management");
  // The GPU backend (WebGPU) registers a "gpu" device when it is loaded; this tour runs on the CPU.
  const device = hasBackend("gpu") ? "gpu" : "cpu";
  print(device === "gpu" ? "GPU backend is available! Using GPU." : "CUDA not available. Using CPU.");
  const xd = tensor([
    [1, 2],
    [3, 4],
  ]);
  print(`Tensor on CPU: ${xd.device}`);
  if (device !== "cpu") {
    const xGpu = xd.to(device);
    print(`Tensor on GPU: ${xGpu.device}`);
    print(`Tensor back on CPU: ${xGpu.to("cpu").device}`);
  }

  // ---- Arithmetic ----
  section("Arithmetic operations");
  const tensorA = tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { dtype: "int64" },
  );
  const tensorB = tensor(
    [
      [5, 6],
      [7, 8],
    ],
    { dtype: "int64" },
  );
  print(`Addition:\n${add(tensorA, tensorB)}`);
  print(`torch.add:\n${add(tensorA, tensorB)}`);
  print(`Subtraction:\n${sub(tensorA, tensorB)}`);
  print(`Element-wise Multiplication:\n${mul(tensorA, tensorB)}`);
  print(`torch.mul:\n${mul(tensorA, tensorB)}`);
  // True division of integers gives float32, as in PyTorch.
  print(`Element-wise Division:\n${div(tensorA, tensorB)}`);

  // ---- Matrix multiplication ----
  section("Matrix multiplication");
  print(`Matrix Multiplication (@):\n${matmul(tensorA, tensorB)}`);
  print(`Matrix Multiplication (torch.matmul):\n${matmul(tensorA, tensorB)}`);

  // ---- Indexing and slicing ----
  section("Indexing and slicing");
  const t = tensor(
    [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ],
    { dtype: "int64" },
  );
  // Python's t[0], t[1, 0], t[:, -1], t[0:2, 1:3]; each is a view sharing t's storage.
  print(`First row: ${t.index(0)}`);
  // A Python f-string formats a 0-dim tensor as its value ("4", not "tensor(4)"): item() does that here.
  print(`First element of second row: ${t.index(1, 0).item()}`);
  print(`Last column: ${t.index(":", -1)}`);
  print(`Sub-tensor (rows 0-1, cols 1-2):\n${t.index("0:2", "1:3")}`);

  // ---- Reshaping ----
  section("Reshaping tensors (view, reshape)");
  const x9 = arange(9); // int64, as torch.arange(9)
  print(`Original tensor: ${x9}`);
  print(`Reshaped with view:\n${x9.view(3, 3)}`);
  print(`Reshaped with reshape:\n${x9.reshape(3, 3)}`);
  print(`Reshaped with view and -1:\n${x9.view(3, -1)}`);

  // ---- Broadcasting ----
  section("Broadcasting");
  const scalar = tensor(10, { dtype: "int64" }); // shape []
  const vector = tensor([10, 20], { dtype: "int64" }); // shape [2]
  print(`Tensor + scalar:\n${add(tensorA, scalar)}`);
  print(`Tensor + vector:\n${add(tensorA, vector)}`);

  // ---- Concatenation and stacking ----
  section("Concatenation and stacking (cat, stack)");
  const t1 = zeros(2, 3);
  const t2 = ones(2, 3);
  const catDim0 = cat([t1, t2], 0);
  print(`Concatenated along dim 0 (rows):\n${catDim0}\nShape: ${size(catDim0)}`);
  const catDim1 = cat([t1, t2], 1);
  print(`Concatenated along dim 1 (columns):\n${catDim1}\nShape: ${size(catDim1)}`);
  const stackedDim0 = stack([t1, t2], 0);
  print(`Stacked along dim 0:\n${stackedDim0}\nShape: ${size(stackedDim0)}`);
  const stackedDim1 = stack([t1, t2], 1);
  print(`Stacked along dim 1:\n${stackedDim1}\nShape: ${size(stackedDim1)}`);

  // ---- Splitting ----
  section("Splitting tensors (split, chunk)");
  const large = arange(12).reshape(3, 4);
  print(`Original tensor:\n${large}`);
  for (const [i, s] of split(large, 2, 1).entries()) print(`Split ${i}:\n${s}`);
  for (const [i, c] of chunk(large, 3, 0).entries()) print(`Chunk ${i}:\n${c}`);

  // ---- Squeeze and unsqueeze ----
  section("Squeeze and unsqueeze");
  const xs = zeros(1, 2, 1, 3, 1);
  print(`Original shape: ${size(xs)}`);
  print(`Squeezed shape: ${size(xs.squeeze())}`);
  print(`Squeezed dim 2 shape: ${size(xs.squeeze(2))}`);
  const xu = zeros(2, 3);
  print(`Original shape: ${size(xu)}`);
  print(`UnSqueezed dim 0 shape: ${size(xu.unsqueeze(0))}`);
  print(`UnSqueezed dim 1 shape: ${size(xu.unsqueeze(1))}`);
}

// Run when executed (node dist/main.mjs), not when imported by a test.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
