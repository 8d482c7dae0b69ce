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
export {
  type NodeWorkerThreads,
  type WorkerCallbacks,
  type WorkerDatasetSpec,
  WorkerError,
  type WorkerFactory,
  type WorkerHandle,
  defaultWorkerFactory,
  nodeWorkerFactory,
  setWorkerFactory,
  webWorkerFactory,
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
