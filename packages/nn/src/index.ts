export * from "./containers.js";
export * as init from "./init.js";
export { type LoadResult, Module, type RemovableHandle, type StateDict } from "./module.js";
export { Identity, Linear, type LinearOptions } from "./modules/linear.js";
export { Parameter } from "./parameter.js";
export * as F from "./functional/index.js";
