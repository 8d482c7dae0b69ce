import { DLError } from "@dl/tensor";

/** An error raised in (or by the loss of) a DataLoader worker, named after the worker and the batch. */
export class WorkerError extends DLError {
  readonly workerId: number;
  /** The loader's batch index (position in the epoch) that failed, or null. */
  readonly batchIndex: number | null;
  /** The error's name, message and stack as the worker reported them. */
  readonly workerError: { name: string; message: string; stack: string } | null;

  constructor(
    workerId: number,
    batchIndex: number | null,
    message: string,
    workerError: { name: string; message: string; stack: string } | null = null,
  ) {
    const at = batchIndex === null ? "" : ` while loading batch ${batchIndex}`;
    super("DataLoader", `worker ${workerId}${at}: ${message}`);
    this.workerId = workerId;
    this.batchIndex = batchIndex;
    this.workerError = workerError;
    if (workerError?.stack) this.stack = `${this.name}: ${this.message}\nOriginal stack in worker ${workerId}:\n${workerError.stack}`;
  }
}
