// The recurrent cells' arithmetic and the graph helpers the RNN layers are built on: cat, split
// and a shared recurrent weight whose backward nodes cost O(total size) instead of O(steps x size).
// Autograd has single-output nodes only; the helpers below are defineFunction nodes arranged so
// that one node gathers what PyTorch's multi-output nodes would. Private to @dl/nn.
import { type FunctionCtx, defineFunction, noGrad } from "@dl/autograd";
import { Tensor, add, empty, fusedKernel, isGradEnabled, matmul, mul, relu, sigmoid, sub, sum, tanh, zeros } from "@dl/tensor";

/** The zero gradient the pieces below pass to their hub, made during backward (nothing held meanwhile). */
const zeroScalar = (like: { dtype: Tensor["dtype"]; device: string }) => zeros([], { dtype: like.dtype, device: like.device });

/** Pieces written one after another into a fresh tensor (not recorded). */
function assemble(parts: readonly Tensor[], dim: number): Tensor {
  const first = parts[0] as Tensor;
  const total = parts.reduce((n, p) => n + (p.shape[dim] as number), 0);
  const out = empty(
    first.shape.map((n, d) => (d === dim ? total : n)),
    { dtype: first.dtype, device: first.device },
  );
  let at = 0;
  for (const p of parts) {
    const n = p.shape[dim] as number;
    out.narrow(dim, at, n).copy_(p);
    at += n;
  }
  return out;
}

/**
 * torch.cat for same-dtype pieces, as one node whose backward hands each piece a view of the
 * gradient (@dl/tensor's cat is a tree of recorded scatters: general, but it copies the data
 * about 2 log2(k) times each way).
 */
export function cat(parts: readonly Tensor[], dim: number): Tensor {
  if (!(isGradEnabled() && parts.some((p) => p.requiresGrad))) return noGrad(() => assemble(parts, dim));
  const sizes = parts.map((p) => p.shape[dim] as number);
  const needs = parts.map((p) => p.requiresGrad);
  const f = defineFunction("Cat", {
    forward: (_ctx, ...ts: Tensor[]) => assemble(ts, dim),
    backward: (_ctx, g) => {
      let at = 0;
      return sizes.map((n, i) => {
        const piece = needs[i] ? g.narrow(dim, at, n) : null;
        at += n;
        return piece;
      });
    },
  });
  return f(...parts);
}

/**
 * Splits x along dim into pieces of the given sizes (torch.split_with_sizes), with one gradient
 * node gathering the pieces' gradients.
 *
 * Autograd has no multi-output nodes, so plain narrow() views would each get a backward that
 * materializes a zero gradient of x's full size: slicing T time steps out of a [T*B, G] input
 * projection would cost O(T^2 B G) in backward. Here every piece is produced by its own small node
 * that only stashes its gradient, and a single "hub" node between x and the pieces concatenates
 * them (zeros for pieces that got none) into x's gradient, once: O(T B G), as PyTorch's
 * SplitWithSizesBackward. The engine runs the hub after all the pieces' nodes because they are its
 * consumers; the pieces pass a zero scalar to the hub so that it is reached.
 */
export function splitWithSizes(x: Tensor, sizes: readonly number[], dim: number): Tensor[] {
  if (sizes.length === 1) return [x];
  const starts: number[] = [];
  let at = 0;
  for (const s of sizes) {
    starts.push(at);
    at += s;
  }
  if (!(x.requiresGrad && isGradEnabled())) return sizes.map((s, i) => x.narrow(dim, starts[i] as number, s));
  const base = x.detach();
  const shape = x.shape;
  const opts = { dtype: x.dtype, device: x.device };
  const slots: (Tensor | undefined)[] = new Array(sizes.length);
  const hub = defineFunction("SplitWithSizesHub", {
    forward: (_ctx, _x: Tensor) => zeros([], opts),
    backward: () => {
      const parts = sizes.map(
        (s, i) =>
          slots[i] ??
          zeros(
            shape.map((n, d) => (d === dim ? s : n)),
            opts,
          ),
      );
      slots.fill(undefined);
      return [cat(parts, dim)];
    },
  });
  const token = hub(x);
  return sizes.map((s, i) => {
    const piece = defineFunction("SplitWithSizes", {
      forward: (_ctx, _t: Tensor) => base.narrow(dim, starts[i] as number, s),
      backward: (_ctx, g) => {
        const prev = slots[i];
        slots[i] = prev ? add(prev, g) : g;
        return [zeroScalar(opts)];
      },
    });
    return piece(token);
  });
}

/**
 * h W for the h of every step of a recurrence, with W's gradient computed once as
 * [h_0; h_1; ...]^T [g_0; g_1; ...] (one matmul) instead of one [H, G] product and one
 * accumulation per step. A hub node between W and the per-step products collects the (h, g)
 * pairs, as splitWithSizes does. Under createGraph the same formulas run with recorded ops.
 */
export class RecurrentWeight {
  private readonly token: Tensor | null = null;
  private readonly stash: [Tensor, Tensor][] = [];
  /** The hub's context: it holds w (with its autograd identity) until the hub's backward has run. */
  private readonly hubCtx: FunctionCtx | null = null;

  /** w: [H, G] (typically weight_hh.t()). */
  constructor(readonly w: Tensor) {
    if (!(w.requiresGrad && isGradEnabled())) return;
    const stash = this.stash;
    let hubCtx: FunctionCtx | null = null;
    const hub = defineFunction("RecurrentWeight", {
      forward: (ctx, wIn: Tensor) => {
        ctx.saveForBackward(wIn);
        hubCtx = ctx;
        return zeros([], { dtype: w.dtype, device: w.device });
      },
      backward: () => {
        const pairs = stash.splice(0);
        if (pairs.length === 0) return [null];
        const hs = cat(
          pairs.map(([h]) => h),
          0,
        );
        const gs = cat(
          pairs.map(([, g]) => g),
          0,
        );
        return [matmul(hs.t(), gs)];
      },
    });
    this.token = hub(w);
    this.hubCtx = hubCtx;
  }

  /** h [B, H] -> h W [B, G]. */
  mm(h: Tensor): Tensor {
    const token = this.token;
    const hubCtx = this.hubCtx;
    if (token === null || hubCtx === null) return matmul(h, this.w);
    const stash = this.stash;
    const f = defineFunction("MmBackward", {
      forward: (ctx, x: Tensor, _t: Tensor) => {
        ctx.saveForBackward(x);
        return matmul(x, (hubCtx.savedTensors[0] as Tensor).detach());
      },
      backward: (ctx, g) => {
        // Recorded (differentiable) operands under createGraph, plain ones otherwise.
        const graph = isGradEnabled();
        const hs = ctx.savedTensors[0] as Tensor;
        const w = hubCtx.savedTensors[0] as Tensor;
        stash.push([graph ? hs : hs.detach(), g]);
        return [hs.requiresGrad ? matmul(g, (graph ? w : w.detach()).t()) : null, zeroScalar(g)];
      },
    });
    return f(h, token);
  }
}

/** x.unbind(dim) with one gradient node for all the slices (see splitWithSizes). */
export function unbind(x: Tensor, dim: number): Tensor[] {
  const n = x.shape[dim] as number;
  return splitWithSizes(x, new Array<number>(n).fill(1), dim).map((t) => t.squeeze(dim));
}

export type Activation = "tanh" | "relu";

const mm = (h: Tensor, w: Tensor | RecurrentWeight): Tensor => (w instanceof RecurrentWeight ? w.mm(h) : matmul(h, w));

/** h' = act(gx + h W_hh^T + b_hh), gx = x W_ih^T + b_ih (b_hh may already be folded into gx). */
export function rnnStep(gx: Tensor, h: Tensor, whhT: Tensor | RecurrentWeight, bhh: Tensor | null, act: Activation): Tensor {
  let pre = add(gx, mm(h, whhT));
  if (bhh) pre = add(pre, bhh);
  return act === "tanh" ? tanh(pre) : relu(pre);
}

/**
 * Whether the backend holding t fuses the `kind` cell (forward and backward) for these operands:
 * one floating dtype (float32/float64, where the kernels round as the composed ops) and one device.
 */
function fusedCell(kind: "lstmCell" | "gruCell", ts: readonly (Tensor | null)[]): boolean {
  const t = ts[0] as Tensor;
  if (t.dtype !== "float32" && t.dtype !== "float64") return false;
  if (!ts.every((u) => u === null || (u.dtype === t.dtype && u.device === t.device))) return false;
  return fusedKernel(t, kind) !== undefined && fusedKernel(t, kind === "lstmCell" ? "lstmCellBackward" : "gruCellBackward") !== undefined;
}

/** Whether lstmStep on gates like gx runs the backend's fused cell (which then adds the bias per step). */
export const lstmFusesBias = (gx: Tensor): boolean => fusedCell("lstmCell", [gx]);

/** Whether an op on ts is recorded (then the fused forward also returns the backward's workspace). */
const recording = (ts: readonly (Tensor | null)[]) => isGradEnabled() && ts.some((t) => t?.requiresGrad === true);

/** The LSTM gate math composed from ops: [h', c'] from the gates' pre-activations (and b) and c. */
function lstmGates(gx: Tensor, gh: Tensor, b: Tensor | null, c: Tensor): [Tensor, Tensor, Tensor[]] {
  let gates = add(gx, gh);
  if (b) gates = add(gates, b);
  const n = (gates.shape[1] as number) / 4;
  const [gi, gf, gg, go] = splitWithSizes(gates, [n, n, n, n], 1) as [Tensor, Tensor, Tensor, Tensor];
  const acts = [sigmoid(gi), sigmoid(gf), tanh(gg), sigmoid(go)];
  const [i, f, g, o] = acts as [Tensor, Tensor, Tensor, Tensor];
  const c2 = add(mul(f, c), mul(i, g));
  return [mul(o, tanh(c2)), c2, acts];
}

/**
 * The fused cell as one node: hc = [h'; c'] ([2B, H]) from gx, gh (+ b) and c. Backward: the
 * kernel on the saved workspace, or under createGraph the same formulas by recorded ops from the
 * saved inputs (so that they are differentiable again).
 */
const FusedLstmCell = defineFunction("FusedLstmCell", {
  forward(ctx, gx: Tensor, gh: Tensor, b: Tensor | null, c: Tensor, needWs: boolean) {
    const kernel = fusedKernel(gx, "lstmCell") as NonNullable<ReturnType<typeof fusedKernel<"lstmCell">>>;
    const r = kernel(gx.ref, gh.ref, b?.ref ?? null, c.ref, needWs);
    const [n, h] = c.shape as [number, number];
    if (needWs) {
      const ws = Tensor.fromData(c.backend, c.device, r.workspace, c.dtype, [n, 5 * h]);
      ctx.saveForBackward(gx, gh, c, ws, ...(b ? [b] : []));
      ws.dispose();
    }
    ctx.data.bias = b !== null;
    return Tensor.fromData(c.backend, c.device, r.hc, c.dtype, [2 * n, h]);
  },
  backward(ctx, grad) {
    const [gx, gh, c, ws, b = null] = ctx.savedTensors as [Tensor, Tensor, Tensor, Tensor, Tensor?];
    const n = c.shape[0] as number;
    const gH = grad.narrow(0, 0, n);
    const gC = grad.narrow(0, n, n);
    let gates: Tensor;
    let gc: Tensor;
    const kernel = fusedKernel(c, "lstmCellBackward");
    if (kernel && !isGradEnabled()) {
      const r = kernel(gH.ref, gC.ref, c.ref, ws.ref);
      gates = Tensor.fromData(c.backend, c.device, r.gates, c.dtype, gx.shape);
      gc = Tensor.fromData(c.backend, c.device, r.c, c.dtype, c.shape);
    } else {
      const [, c2, acts] = lstmGates(gx, gh, b, c);
      const [i, f, g, o] = acts as [Tensor, Tensor, Tensor, Tensor];
      const tc = tanh(c2);
      const one = (t: Tensor) => sub(1, t);
      const dc = add(gC, mul(mul(gH, o), one(mul(tc, tc))));
      gates = cat(
        [
          mul(mul(mul(dc, g), i), one(i)),
          mul(mul(mul(dc, c), f), one(f)),
          mul(mul(dc, i), one(mul(g, g))),
          mul(mul(mul(gH, tc), o), one(o)),
        ],
        1,
      );
      gc = mul(dc, f);
    }
    const [ngx, ngh, nb, nc] =
      ctx.needsInputGrad.length === 4 ? ctx.needsInputGrad : [...ctx.needsInputGrad.slice(0, 2), false, ctx.needsInputGrad[2]];
    return [ngx ? gates : null, ngh ? gates : null, ...(ctx.data.bias ? [nb ? sum(gates, 0) : null] : []), nc ? gc : null];
  },
});

/**
 * One LSTM step, gates i, f, g, o: c' = f c + i g, h' = o tanh(c'), then h' W_hr^T with a
 * projection. gx = x W_ih^T (+ b_ih), bhh the bias added per step as (gx + h W_hh^T) + bhh: b_hh,
 * b_ih + b_hh, or null when gx holds both. The backend's fused cell where it has one, else composed ops.
 */
export function lstmStep(
  gx: Tensor,
  h: Tensor,
  c: Tensor,
  whhT: Tensor | RecurrentWeight,
  bhh: Tensor | null,
  whrT: Tensor | RecurrentWeight | null,
): [Tensor, Tensor] {
  const gh = mm(h, whhT);
  let h2: Tensor;
  let c2: Tensor;
  if (fusedCell("lstmCell", [gx, gh, bhh, c])) {
    const n = c.shape[0] as number;
    [h2, c2] = splitWithSizes(FusedLstmCell(gx, gh, bhh, c, recording([gx, gh, bhh, c])), [n, n], 0) as [Tensor, Tensor];
  } else {
    [h2, c2] = lstmGates(gx, gh, bhh, c);
  }
  if (whrT) h2 = mm(h2, whrT);
  return [h2, c2];
}

/** The GRU gate math composed from ops; gh already holds b_hh. Returns h' and the activations r, z, n. */
function gruGates(gx: Tensor, gh: Tensor, h: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  const n = (gx.shape[1] as number) / 3;
  const [xrz, xn] = splitWithSizes(gx, [2 * n, n], 1) as [Tensor, Tensor];
  const [hrz, hn] = splitWithSizes(gh, [2 * n, n], 1) as [Tensor, Tensor];
  const [r, z] = splitWithSizes(sigmoid(add(xrz, hrz)), [n, n], 1) as [Tensor, Tensor];
  const nn = tanh(add(xn, mul(r, hn)));
  return [add(nn, mul(z, sub(h, nn))), r, z, nn];
}

/** The fused GRU cell as one node (see FusedLstmCell): h' from gx, gh (+ b) and h. */
const FusedGruCell = defineFunction("FusedGruCell", {
  forward(ctx, gx: Tensor, gh: Tensor, b: Tensor | null, h: Tensor, needWs: boolean) {
    const kernel = fusedKernel(gx, "gruCell") as NonNullable<ReturnType<typeof fusedKernel<"gruCell">>>;
    const r = kernel(gx.ref, gh.ref, b?.ref ?? null, h.ref, needWs);
    const [n, hs] = h.shape as [number, number];
    if (needWs) {
      const ws = Tensor.fromData(h.backend, h.device, r.workspace, h.dtype, [n, 4 * hs]);
      ctx.saveForBackward(gx, gh, h, ws, ...(b ? [b] : []));
      ws.dispose();
    }
    ctx.data.bias = b !== null;
    return Tensor.fromData(h.backend, h.device, r.h, h.dtype, [n, hs]);
  },
  backward(ctx, grad) {
    const [gx, gh, h, ws, b = null] = ctx.savedTensors as [Tensor, Tensor, Tensor, Tensor, Tensor?];
    let ggx: Tensor;
    let ggh: Tensor;
    let gprev: Tensor;
    const kernel = fusedKernel(h, "gruCellBackward");
    if (kernel && !isGradEnabled()) {
      const r = kernel(grad.ref, h.ref, ws.ref);
      ggx = Tensor.fromData(h.backend, h.device, r.gx, h.dtype, gx.shape);
      ggh = Tensor.fromData(h.backend, h.device, r.gh, h.dtype, gx.shape);
      gprev = Tensor.fromData(h.backend, h.device, r.h, h.dtype, h.shape);
    } else {
      const ghb = b ? add(gh, b) : gh;
      const [, r, z, nn] = gruGates(gx, ghb, h);
      const k = (h.shape[1] as number) * 2;
      const hn = ghb.narrow(1, k, k / 2);
      const dn = mul(mul(grad, sub(1, z)), sub(1, mul(nn, nn)));
      const dr = mul(mul(mul(dn, hn), r), sub(1, r));
      const dz = mul(mul(mul(grad, sub(h, nn)), z), sub(1, z));
      ggx = cat([dr, dz, dn], 1);
      ggh = cat([dr, dz, mul(dn, r)], 1);
      gprev = mul(grad, z);
    }
    const [ngx, ngh, nb, nh] =
      ctx.needsInputGrad.length === 4 ? ctx.needsInputGrad : [...ctx.needsInputGrad.slice(0, 2), false, ctx.needsInputGrad[2]];
    return [ngx ? ggx : null, ngh ? ggh : null, ...(ctx.data.bias ? [nb ? sum(ggh, 0) : null] : []), nh ? gprev : null];
  },
});

/**
 * One GRU step, gates r, z, n: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r (W_hn h + b_hn)),
 * h' = n + z (h - n) = (1 - z) n + z h. gx = x W_ih^T + b_ih (b_hh never folded: b_hn is inside r).
 * The backend's fused cell where it has one, else composed ops.
 */
export function gruStep(gx: Tensor, h: Tensor, whhT: Tensor | RecurrentWeight, bhh: Tensor | null): Tensor {
  const gh = mm(h, whhT);
  if (fusedCell("gruCell", [gx, gh, bhh, h])) return FusedGruCell(gx, gh, bhh, h, recording([gx, gh, bhh, h]));
  return gruGates(gx, bhh ? add(gh, bhh) : gh, h)[0];
}
