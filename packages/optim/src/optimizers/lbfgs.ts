import { enableGrad, noGrad } from "@dl/autograd";
import { ArgumentError, abs, add_, amax, cat, dot, keep, mul, neg, sub, sum, Tensor, tidy, zeros } from "@dl/tensor";
import { type Closure, checkNonNegative, Optimizer, type ParamGroup, type Params, pyRepr } from "../optimizer.js";

export interface LBFGSOptions {
  lr?: number;
  /** Maximal number of iterations per step(). */
  maxIter?: number;
  /** Maximal number of function evaluations per step() (default maxIter * 5 / 4). */
  maxEval?: number | null;
  /** Termination tolerance on first-order optimality. */
  toleranceGrad?: number;
  /** Termination tolerance on function value and parameter changes. */
  toleranceChange?: number;
  historySize?: number;
  /** null (fixed step lr) or "strong_wolfe". */
  lineSearchFn?: "strong_wolfe" | null;
}

export interface LBFGSParamGroup extends ParamGroup {
  maxIter: number;
  maxEval: number;
  toleranceGrad: number;
  toleranceChange: number;
  historySize: number;
  lineSearchFn: "strong_wolfe" | null;
}

const f32 = Math.fround;
const num = (t: Tensor): number => Number(t.item());

/** Minimizer of the cubic interpolating (x1, f1, g1) and (x2, f2, g2), clamped to bounds. */
function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [xminBound, xmaxBound] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 ** 2 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos =
      x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, xminBound), xmaxBound);
  }
  return (xminBound + xmaxBound) / 2.0;
}

type ObjFunc = (x: Tensor[], t: number, d: Tensor) => [number, Tensor];

/** PyTorch's _strong_wolfe line search (Nocedal & Wright, algorithms 3.5 / 3.6). */
function strongWolfe(
  objFunc: ObjFunc,
  x: Tensor[],
  t: number,
  d: Tensor,
  f: number,
  g: Tensor,
  gtd: number,
  c1 = 1e-4,
  c2 = 0.9,
  toleranceChange = 1e-9,
  maxLs = 25,
): { f: number; g: Tensor; t: number; evals: number } {
  const dNorm = num(amax(abs(d)));
  g = g.clone();
  let [fNew, gNew] = objFunc(x, t, d);
  let lsFuncEvals = 1;
  let gtdNew = num(dot(gNew, d));
  let tPrev = 0;
  let fPrev = f;
  let gPrev = g;
  let gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Tensor[] = [];
  let bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew.clone()];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      bracket = [t];
      bracketF = [fNew];
      bracketG = [gNew];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew.clone()];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp;
    fPrev = fNew;
    gPrev = gNew.clone();
    gtdPrev = gtdNew;
    [fNew, gNew] = objFunc(x, t, d);
    lsFuncEvals += 1;
    gtdNew = num(dot(gNew, d));
    lsIter += 1;
  }
  if (lsIter === maxLs) {
    bracket = [0, t];
    bracketF = [f, fNew];
    bracketG = [g, gNew];
  }
  // Zoom phase.
  let insufProgress = false;
  let [lowPos, highPos] = (bracketF[0] as number) <= (bracketF[bracketF.length - 1] as number) ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    const b0 = bracket[0] as number;
    const b1 = bracket[1] as number;
    if (Math.abs(b1 - b0) * dNorm < toleranceChange) break;
    t = cubicInterpolate(b0, bracketF[0] as number, bracketGtd[0] as number, b1, bracketF[1] as number, bracketGtd[1] as number);
    const bMax = Math.max(b0, b1);
    const bMin = Math.min(b0, b1);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else {
        insufProgress = true;
      }
    } else {
      insufProgress = false;
    }
    [fNew, gNew] = objFunc(x, t, d);
    lsFuncEvals += 1;
    gtdNew = num(dot(gNew, d));
    lsIter += 1;
    if (fNew > f + c1 * t * gtd || fNew >= (bracketF[lowPos] as number)) {
      bracket[highPos] = t;
      bracketF[highPos] = fNew;
      bracketG[highPos] = gNew.clone();
      bracketGtd[highPos] = gtdNew;
      [lowPos, highPos] = (bracketF[0] as number) <= (bracketF[1] as number) ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        done = true;
      } else if (gtdNew * ((bracket[highPos] as number) - (bracket[lowPos] as number)) >= 0) {
        bracket[highPos] = bracket[lowPos] as number;
        bracketF[highPos] = bracketF[lowPos] as number;
        bracketG[highPos] = bracketG[lowPos] as Tensor;
        bracketGtd[highPos] = bracketGtd[lowPos] as number;
      }
      bracket[lowPos] = t;
      bracketF[lowPos] = fNew;
      bracketG[lowPos] = gNew.clone();
      bracketGtd[lowPos] = gtdNew;
    }
  }
  return { f: bracketF[lowPos] as number, g: bracketG[lowPos] as Tensor, t: bracket[lowPos] as number, evals: lsFuncEvals };
}

/**
 * torch.optim.LBFGS: limited-memory BFGS (after minFunc), with an optional strong-Wolfe line
 * search. step(closure) is required: the closure clears the gradients, computes the loss, calls
 * backward() and returns the loss; it may run several times per step. One parameter group only.
 * State (on the first parameter, as PyTorch): func_evals, n_iter, d, t, old_dirs, old_stps, ro,
 * H_diag, prev_flat_grad, prev_loss, al. Scalars PyTorch holds in float32 tensors (ro, H_diag,
 * al) are rounded to float32 here too.
 */
export class LBFGS extends Optimizer<LBFGSParamGroup> {
  private readonly params: Tensor[];

  constructor(params: Params<LBFGSOptions>, options: LBFGSOptions = {}) {
    const { lr = 1, maxIter = 20, toleranceGrad = 1e-7, toleranceChange = 1e-9, historySize = 100, lineSearchFn = null } = options;
    const maxEval = options.maxEval ?? Math.floor((maxIter * 5) / 4);
    checkNonNegative("LBFGS", "learning rate", lr);
    for (const [name, v] of [
      ["max_iter", maxIter],
      ["max_eval", maxEval],
      ["history_size", historySize],
    ] as const) {
      if (!(Number.isInteger(v) && v > 0)) throw new ArgumentError("LBFGS", `Invalid ${name} value: ${pyRepr(v)} (expected a positive integer)`);
    }
    checkNonNegative("LBFGS", "tolerance_grad", toleranceGrad);
    checkNonNegative("LBFGS", "tolerance_change", toleranceChange);
    if (lineSearchFn !== null && lineSearchFn !== "strong_wolfe") {
      throw new ArgumentError("LBFGS", `only 'strong_wolfe' is supported as lineSearchFn, got '${String(lineSearchFn)}'`);
    }
    super(params, { lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearchFn });
    if (this.paramGroups.length !== 1) throw new ArgumentError("LBFGS", "LBFGS doesn't support per-parameter options (parameter groups)");
    this.params = (this.paramGroups[0] as LBFGSParamGroup).params;
  }

  protected updateGroup(): void {
    throw new ArgumentError("LBFGS.step", "LBFGS requires a closure");
  }

  private numel(): number {
    return this.params.reduce((n, p) => n + p.numel(), 0);
  }

  private gatherFlatGrad(): Tensor {
    return cat(
      this.params.map((p) => (p.grad === null ? zeros([p.numel()], { dtype: p.dtype, device: p.device }) : p.grad.reshape(-1))),
      0,
    );
  }

  private addGrad(stepSize: number, update: Tensor): void {
    tidy(() => {
      let offset = 0;
      for (const p of this.params) {
        const n = p.numel();
        add_(p, update.slice(0, offset, offset + n).view(p.shape), { alpha: stepSize });
        offset += n;
      }
      if (offset !== this.numel()) throw new ArgumentError("LBFGS", "parameter sizes changed during step");
    });
  }

  private directionalEvaluate(closure: Closure, x: Tensor[], t: number, d: Tensor): [number, Tensor] {
    this.addGrad(t, d);
    const loss = lossValue(enableGrad(closure));
    const flatGrad = this.gatherFlatGrad();
    this.params.forEach((p, i) => {
      p.copy_(x[i] as Tensor);
    });
    return [loss, flatGrad];
  }

  override step<L extends Tensor | number>(closure?: Closure<L>): L {
    if (closure === undefined)
      throw new ArgumentError("LBFGS.step", "LBFGS requires a closure that reevaluates the model and returns the loss");
    return noGrad(() => this.run(closure));
  }

  private run<L extends Tensor | number>(closure: Closure<L>): L {
    const group = this.paramGroups[0] as LBFGSParamGroup;
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, lineSearchFn, historySize } = group;
    const state = this.stateOf(this.params[0] as Tensor);
    state.func_evals ??= 0;
    state.n_iter ??= 0;

    const origLoss = enableGrad(closure);
    let loss = lossValue(origLoss);
    let currentEvals = 1;
    state.func_evals = (state.func_evals as number) + 1;
    let flatGrad = this.gatherFlatGrad();
    let optCond = num(amax(abs(flatGrad))) <= toleranceGrad;
    if (optCond) return origLoss;

    let d = state.d as Tensor | undefined;
    let t = state.t as number | undefined;
    let oldDirs = state.old_dirs as Tensor[] | undefined;
    let oldStps = state.old_stps as Tensor[] | undefined;
    let ro = state.ro as number[] | undefined;
    let hDiag = state.H_diag as number | undefined;
    let prevFlatGrad = state.prev_flat_grad as Tensor | undefined;
    let prevLoss = state.prev_loss as number | undefined;

    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      state.n_iter = (state.n_iter as number) + 1;
      if (state.n_iter === 1) {
        d = keep(neg(flatGrad));
        oldDirs = [];
        oldStps = [];
        ro = [];
        hDiag = 1;
      } else {
        const dirs = oldDirs as Tensor[];
        const stps = oldStps as Tensor[];
        const rho = ro as number[];
        const y = keep(sub(flatGrad, prevFlatGrad as Tensor));
        const s = keep(mul(d as Tensor, t as number));
        const ys = num(dot(y, s));
        if (ys > 1e-10) {
          if (dirs.length === historySize) {
            dirs.shift();
            stps.shift();
            rho.shift();
          }
          dirs.push(y);
          stps.push(s);
          rho.push(f32(1.0 / ys));
          hDiag = f32(ys / num(dot(y, y)));
        }
        const numOld = dirs.length;
        if (state.al === undefined) state.al = new Array(historySize).fill(null);
        const al = state.al as (number | null)[];
        d = tidy(() => {
          const q = neg(flatGrad);
          for (let i = numOld - 1; i >= 0; i--) {
            al[i] = f32(num(dot(stps[i] as Tensor, q)) * (rho[i] as number));
            add_(q, dirs[i] as Tensor, { alpha: -(al[i] as number) });
          }
          const r = mul(q, hDiag as number);
          for (let i = 0; i < numOld; i++) {
            const be = f32(num(dot(dirs[i] as Tensor, r)) * (rho[i] as number));
            add_(r, stps[i] as Tensor, { alpha: f32((al[i] as number) - be) });
          }
          return keep(r);
        });
      }
      if (prevFlatGrad === undefined) prevFlatGrad = keep(flatGrad.clone());
      else prevFlatGrad.copy_(flatGrad);
      prevLoss = loss;

      if (state.n_iter === 1) {
        // min(1.0, 1.0 / sum|g|) * lr, the reciprocal being a float32 tensor in PyTorch.
        const inv = f32(1.0 / num(sum(abs(flatGrad))));
        t = inv < 1.0 ? f32(inv * f32(lr)) : 1.0 * lr;
      } else {
        t = lr;
      }
      const gtd = num(dot(flatGrad, d as Tensor));
      if (gtd > -toleranceChange) break;

      let lsFuncEvals = 0;
      if (lineSearchFn !== null) {
        const xInit = this.params.map((p) => p.clone());
        const objFunc: ObjFunc = (x, tt, dd) => this.directionalEvaluate(closure, x, tt, dd);
        const r = strongWolfe(objFunc, xInit, t, d as Tensor, loss, flatGrad, gtd);
        loss = r.f;
        flatGrad = r.g;
        t = r.t;
        lsFuncEvals = r.evals;
        this.addGrad(t, d as Tensor);
        optCond = num(amax(abs(flatGrad))) <= toleranceGrad;
      } else {
        this.addGrad(t, d as Tensor);
        if (nIter !== maxIter) {
          loss = lossValue(enableGrad(closure));
          flatGrad = this.gatherFlatGrad();
          optCond = num(amax(abs(flatGrad))) <= toleranceGrad;
          lsFuncEvals = 1;
        }
      }
      currentEvals += lsFuncEvals;
      state.func_evals = (state.func_evals as number) + lsFuncEvals;

      if (nIter === maxIter) break;
      if (currentEvals >= maxEval) break;
      if (optCond) break;
      if (num(amax(abs(mul(d as Tensor, t)))) <= toleranceChange) break;
      if (Math.abs(loss - (prevLoss as number)) < toleranceChange) break;
    }

    state.d = d;
    state.t = t;
    state.old_dirs = oldDirs;
    state.old_stps = oldStps;
    state.ro = ro;
    state.H_diag = hDiag;
    state.prev_flat_grad = prevFlatGrad;
    state.prev_loss = prevLoss;
    return origLoss;
  }

  protected override saveStateValue(key: string, value: unknown, param: Tensor): unknown {
    if (key === "ro" || key === "al") return (value as (number | null)[]).map((v) => (v === null ? null : scalar(v, param)));
    if (key === "H_diag" && typeof value === "number") return scalar(value, param);
    return super.saveStateValue(key, value, param);
  }

  protected override loadStateValue(key: string, value: unknown, param: Tensor): unknown {
    const toNum = (v: unknown): unknown => (v instanceof Tensor ? Number(v.item()) : v);
    if (key === "ro" || key === "al") return (value as unknown[]).map(toNum);
    if (key === "H_diag" || key === "t" || key === "prev_loss") return toNum(value);
    return super.loadStateValue(key, value, param);
  }
}

function lossValue(loss: Tensor | number): number {
  return loss instanceof Tensor ? Number(loss.item()) : Number(loss);
}

function scalar(v: number, like: Tensor): Tensor {
  return keep(zeros([], { dtype: "float32", device: like.device }).fill_(v));
}
