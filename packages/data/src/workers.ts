/**
 * @dl/data/workers: how DataLoader workers are started. A DataLoader with numWorkers > 0 needs none
 * of this (it picks worker_threads in Node and module Web Workers in browsers); import it to replace
 * or wrap the factory (`workerFactory` option or setWorkerFactory).
 */
export {
  type NodeWorkerThreads,
  type WorkerCallbacks,
  type WorkerDatasetSpec,
  type WorkerFactory,
  type WorkerHandle,
  defaultWorkerFactory,
  nodeWorkerFactory,
  setWorkerFactory,
  webWorkerFactory,
} from "./worker/pool.js";
export { WorkerError } from "./worker/error.js";
