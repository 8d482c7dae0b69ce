import { type Tensor, binaryOp } from "@dl/tensor";
import type { BackwardContext, Formula } from "../node.js";
import { add, cmp, div, mul, neg, sub, sumToShape, un, where, zerosOf } from "./util.js";

const x0 = (c: BackwardContext) => c.inputs[0] as Tensor;
const x1 = (c: BackwardContext) => c.inputs[1] as Tensor;
const out = (c: BackwardContext) => c.output as Tensor;
const LN2 = Math.LN2;
const LN10 = Math.LN10;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

function unary(name: string, save: "input" | "output" | "none", f: (c: BackwardContext, g: Tensor) => Tensor): Formula {
  return {
    name,
    saveInputs: save === "input",
    saveOutput: save === "output",
    backward: (c, g) => [f(c, g)],
  };
}

const zeroGrad = (name: string) => unary(name, "none", (c, g) => zerosOf(c.inputShapes[0] as number[], g));

/** d/dx of each unary primitive, with PyTorch's conventions at kinks (abs'(0) = 0, relu'(0) = 0). */
export const unaryFormulas: Record<string, Formula> = {
  neg: unary("NegBackward0", "none", (_c, g) => neg(g)),
  abs: unary("AbsBackward0", "input", (c, g) => mul(g, un("sign", x0(c)))),
  sign: zeroGrad("SignBackward0"),
  floor: zeroGrad("FloorBackward0"),
  ceil: zeroGrad("CeilBackward0"),
  round: zeroGrad("RoundBackward0"),
  trunc: zeroGrad("TruncBackward0"),
  frac: unary("FracBackward0", "none", (_c, g) => g),
  reciprocal: unary("ReciprocalBackward0", "output", (c, g) => mul(neg(g), mul(out(c), out(c)))),
  square: unary("PowBackward0", "input", (c, g) => mul(g, mul(x0(c), 2))),
  exp: unary("ExpBackward0", "output", (c, g) => mul(g, out(c))),
  exp2: unary("Exp2Backward0", "output", (c, g) => mul(g, mul(out(c), LN2))),
  expm1: unary("Expm1Backward0", "output", (c, g) => mul(g, add(out(c), 1))),
  log: unary("LogBackward0", "input", (c, g) => div(g, x0(c))),
  log2: unary("Log2Backward0", "input", (c, g) => div(g, mul(x0(c), LN2))),
  log10: unary("Log10Backward0", "input", (c, g) => div(g, mul(x0(c), LN10))),
  log1p: unary("Log1PBackward0", "input", (c, g) => div(g, add(x0(c), 1))),
  sqrt: unary("SqrtBackward0", "output", (c, g) => div(g, mul(out(c), 2))),
  rsqrt: unary("RsqrtBackward0", "output", (c, g) => mul(mul(g, -0.5), mul(out(c), mul(out(c), out(c))))),
  sin: unary("SinBackward0", "input", (c, g) => mul(g, un("cos", x0(c)))),
  cos: unary("CosBackward0", "input", (c, g) => mul(neg(g), un("sin", x0(c)))),
  tan: unary("TanBackward0", "output", (c, g) => mul(g, add(mul(out(c), out(c)), 1))),
  asin: unary("AsinBackward0", "input", (c, g) => div(g, un("sqrt", sub(1, mul(x0(c), x0(c)))))),
  acos: unary("AcosBackward0", "input", (c, g) => div(neg(g), un("sqrt", sub(1, mul(x0(c), x0(c)))))),
  atan: unary("AtanBackward0", "input", (c, g) => div(g, add(mul(x0(c), x0(c)), 1))),
  sinh: unary("SinhBackward0", "input", (c, g) => mul(g, un("cosh", x0(c)))),
  cosh: unary("CoshBackward0", "input", (c, g) => mul(g, un("sinh", x0(c)))),
  tanh: unary("TanhBackward0", "output", (c, g) => mul(g, sub(1, mul(out(c), out(c))))),
  asinh: unary("AsinhBackward0", "input", (c, g) => div(g, un("sqrt", add(mul(x0(c), x0(c)), 1)))),
  acosh: unary("AcoshBackward0", "input", (c, g) => div(g, un("sqrt", sub(mul(x0(c), x0(c)), 1)))),
  atanh: unary("AtanhBackward0", "input", (c, g) => div(g, sub(1, mul(x0(c), x0(c))))),
  sigmoid: unary("SigmoidBackward0", "output", (c, g) => mul(g, mul(out(c), sub(1, out(c))))),
  erf: unary("ErfBackward0", "input", (c, g) => mul(g, mul(un("exp", neg(mul(x0(c), x0(c)))), TWO_OVER_SQRT_PI))),
  erfc: unary("ErfcBackward0", "input", (c, g) => mul(g, mul(un("exp", neg(mul(x0(c), x0(c)))), -TWO_OVER_SQRT_PI))),
  erfinv: unary("ErfinvBackward0", "output", (c, g) => mul(g, mul(un("exp", mul(out(c), out(c))), Math.sqrt(Math.PI) / 2))),
  relu: unary("ReluBackward0", "output", (c, g) => where(cmp("gt", out(c), 0), g, 0)),
};

function binary(
  name: string,
  save: Formula["saveInputs"],
  f: (c: BackwardContext, g: Tensor) => [Tensor | null, Tensor | null],
  saveOutput: Formula["saveOutput"] = false,
): Formula {
  return {
    name,
    saveInputs: save,
    saveOutput,
    backward(c, g) {
      const [ga, gb] = f(c, g);
      return [
        ga && c.needsGrad[0] ? sumToShape(ga, c.inputShapes[0] as number[]) : null,
        gb && c.needsGrad[1] ? sumToShape(gb, c.inputShapes[1] as number[]) : null,
      ];
    },
  };
}

/** Splits the gradient between tied operands (maximum/minimum), as PyTorch does. */
function tieSplit(a: Tensor, b: Tensor, g: Tensor, pick: "gt" | "lt"): [Tensor, Tensor] {
  const half = mul(g, 0.5);
  const eq = cmp("eq", a, b);
  const ga = where(eq, half, where(cmp(pick, a, b), g, 0));
  const gb = where(eq, half, where(cmp(pick, a, b), 0, g));
  return [ga, gb];
}

export const binaryFormulas: Record<string, Formula> = {
  add: binary("AddBackward0", false, (_c, g) => [g, g]),
  sub: binary("SubBackward0", false, (_c, g) => [g, neg(g)]),
  // a is needed only for b's gradient and b only for a's (PyTorch saves the same way).
  mul: binary("MulBackward0", (ng) => [...(ng[1] ? [0] : []), ...(ng[0] ? [1] : [])], (c, g) => [c.needsGrad[0] ? mul(g, x1(c)) : null, c.needsGrad[1] ? mul(g, x0(c)) : null]),
  // a is needed only for b's gradient (PyTorch saves the same way).
  div: binary("DivBackward0", (ng) => (ng[1] ? [0, 1] : [1]), (c, g) => [
    c.needsGrad[0] ? div(g, x1(c)) : null,
    c.needsGrad[1] ? neg(div(mul(g, x0(c)), mul(x1(c), x1(c)))) : null,
  ]),
  pow: binary(
    "PowBackward1",
    true,
    (c, g) => {
      const a = x0(c);
      const b = x1(c);
      // d/da: b * a^(b-1), zero where b == 0; d/db: a^b * log(a), zero where a == 0 and b >= 0.
      const ga = c.needsGrad[0] ? where(cmp("eq", b, 0), 0, mul(g, mul(b, binOp("pow", a, sub(b, 1))))) : null;
      const gb = c.needsGrad[1] ? where(andMask(cmp("eq", a, 0), cmp("ge", b, 0)), 0, mul(g, mul(out(c), un("log", a)))) : null;
      return [ga, gb];
    },
    true,
  ),
  atan2: binary("Atan2Backward0", true, (c, g) => {
    const a = x0(c);
    const b = x1(c);
    const den = add(mul(a, a), mul(b, b));
    return [mul(g, div(b, den)), mul(g, div(neg(a), den))];
  }),
  hypot: binary(
    "HypotBackward0",
    true,
    (c, g) => [mul(g, div(x0(c), out(c))), mul(g, div(x1(c), out(c)))],
    true,
  ),
  maximum: binary("MaximumBackward0", true, (c, g) => tieSplit(x0(c), x1(c), g, "gt")),
  minimum: binary("MinimumBackward0", true, (c, g) => tieSplit(x0(c), x1(c), g, "lt")),
  fmax: binary("FmaxBackward0", true, (c, g) => {
    const keepA = orMask(cmp("ge", x0(c), x1(c)), un("isnan", x1(c)));
    return [where(keepA, g, 0), where(keepA, 0, g)];
  }),
  fmin: binary("FminBackward0", true, (c, g) => {
    const keepA = orMask(cmp("le", x0(c), x1(c)), un("isnan", x1(c)));
    return [where(keepA, g, 0), where(keepA, 0, g)];
  }),
  copysign: binary(
    "CopysignBackward0",
    [0],
    (c, g) => [where(cmp("eq", x0(c), 0), 0, mul(g, div(out(c), x0(c)))), zerosOf(g.shape, g)],
    true,
  ),
  xlogy: binary("XlogyBackward0", true, (c, g) => [
    where(andMask(cmp("eq", x0(c), 0), cmp("le", x1(c), 0)), 0, mul(g, un("log", x1(c)))),
    div(mul(g, x0(c)), x1(c)),
  ]),
  remainder: binary("RemainderBackward0", true, (c, g) => [g, mul(neg(g), un("floor", div(x0(c), x1(c))))]),
  fmod: binary("FmodBackward0", true, (c, g) => [g, mul(neg(g), un("trunc", div(x0(c), x1(c))))]),
  // PyTorch names div(a, b, rounding_mode=...) DivBackward2 for both modes.
  floorDiv: binary("DivBackward2", false, (_c, g) => [zerosOf(g.shape, g), zerosOf(g.shape, g)]),
  truncDiv: binary("DivBackward2", false, (_c, g) => [zerosOf(g.shape, g), zerosOf(g.shape, g)]),
  where: {
    name: "WhereBackward0",
    backward(c, g) {
      const cond = c.args.cond as Tensor;
      return [
        c.needsGrad[0] ? sumToShape(where(cond, g, 0), c.inputShapes[0] as number[]) : null,
        c.needsGrad[1] ? sumToShape(where(cond, 0, g), c.inputShapes[1] as number[]) : null,
      ];
    },
  },
};

const binOp = (op: "pow", a: Tensor, b: Tensor) => binaryOp(op, a, b);
const andMask = (a: Tensor, b: Tensor) => binaryOp("logicalAnd", a, b, undefined, "bool");
const orMask = (a: Tensor, b: Tensor) => binaryOp("logicalOr", a, b, undefined, "bool");

