// torch.nn.functional: import { F } from "@dl/nn"; F.linear(x, w, b).
export { linear } from "./linear.js";
