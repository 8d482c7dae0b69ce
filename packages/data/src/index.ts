export {
  ChainDataset,
  ConcatDataset,
  Dataset,
  IterableDataset,
  type MapStyleDataset,
  Subset,
  TensorDataset,
  randomSplit,
  splitLengths,
} from "./dataset.js";
export {
  BatchSampler,
  RandomSampler,
  type RandomSamplerOptions,
  Sampler,
  SequentialSampler,
  type Sized,
  SubsetRandomSampler,
  WeightedRandomSampler,
} from "./sampler.js";
export {
  type CollateFn,
  type CollateFnMap,
  type CollateKey,
  type Collated,
  type PadCollateOptions,
  type PaddedBatch,
  collate,
  defaultCollate,
  defaultCollateFnMap,
  defaultConvert,
  padCollate,
  typedArrayToTensor,
} from "./collate.js";
export { DataLoader, type DataLoaderOptions } from "./dataloader.js";
export { type WorkerInfo, getWorkerInfo } from "./worker/info.js";
export { WorkerError } from "./worker/error.js";
// The worker pool's factories are in @dl/data/workers: importing them here would keep the pool in
// every bundle with a DataLoader (the loader loads it when numWorkers > 0).
export type {
  NodeWorkerThreads,
  WorkerCallbacks,
  WorkerDatasetSpec,
  WorkerFactory,
  WorkerHandle,
} from "./worker/pool.js";
export {
  type FormatMeterArgs,
  ProgressBar,
  type ProgressOptions,
  type ProgressStream,
  formatInterval,
  formatMeter,
  formatNum,
  progress,
} from "./progress.js";
export * from "./transforms/index.js";
