export { Conv1D, type Conv1DOptions } from "./modeling/conv1d.js";
