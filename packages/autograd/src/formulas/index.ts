import type { Formula } from "../node.js";
import { binaryFormulas, unaryFormulas } from "./elementwise.js";
import { indexingFormulas } from "./indexing.js";
import { linalgFormulas } from "./linalg.js";
import { reduceFormulas } from "./reduce.js";
import { scanFormulas } from "./scan.js";
import { softmaxFormulas } from "./softmax.js";
import { viewFormulas } from "./views.js";

/** Gradient formula of every primitive @dl/tensor records, by primitive name. */
export const formulas: Record<string, Formula> = {
  ...unaryFormulas,
  ...binaryFormulas,
  ...reduceFormulas,
  ...viewFormulas,
  ...indexingFormulas,
  ...linalgFormulas,
  ...scanFormulas,
  ...softmaxFormulas,
};
