/**
 * `import "@dl/data/node"`: registers Node's worker_threads as the DataLoader worker factory.
 * Needed only on Node versions without process.getBuiltinModule (before 20.16 / 22.3); newer
 * Node finds worker_threads by itself. Kept out of the main entry so that browser bundles never
 * see a node: import.
 */
import * as workerThreads from "node:worker_threads";
import { type NodeWorkerThreads, nodeWorkerFactory, setWorkerFactory } from "./worker/pool.js";

setWorkerFactory(nodeWorkerFactory(workerThreads as unknown as NodeWorkerThreads));

export { nodeWorkerFactory };
