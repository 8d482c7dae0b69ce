/** What a DataLoader worker knows about itself (torch.utils.data.get_worker_info()). */
export interface WorkerInfo {
  /** 0..numWorkers-1. */
  readonly id: number;
  readonly numWorkers: number;
  /** The loader's base seed for this iteration plus `id`: seed your generators from it. */
  readonly seed: number;
  /** This worker's copy of the dataset (null while it is being built). */
  readonly dataset: unknown;
}

/** The global slot the worker bootstrap fills in (a registered symbol, so every copy of @dl/data sees it). */
export const WORKER_INFO_KEY: unique symbol = Symbol.for("@dl/data.workerInfo") as never;

/**
 * torch.utils.data.get_worker_info: inside a DataLoader worker, its id, the number of workers, its
 * seed and its dataset copy; null on the main thread. Use it in an IterableDataset to shard the
 * stream between workers.
 */
export function getWorkerInfo(): WorkerInfo | null {
  return ((globalThis as Record<symbol, unknown>)[WORKER_INFO_KEY] as WorkerInfo | undefined) ?? null;
}
