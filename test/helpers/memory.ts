import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Forcing a full garbage collection from a test. Node exposes gc() only with --expose-gc; setting
 * the flag at run time and taking gc from a fresh context gives the same function.
 */
setFlagsFromString("--expose-gc");
export const forceGC = runInNewContext("gc") as () => void;

/**
 * Bytes of ArrayBuffer backing stores alive right after full collections (no event-loop turn).
 * Backing stores are swept concurrently: the second and third collection finish what the first began.
 */
export function liveArrayBufferBytes(): number {
  forceGC();
  forceGC();
  forceGC();
  return process.memoryUsage().arrayBuffers;
}

/**
 * Lets the backends observe what the collector reclaimed: FinalizationRegistry callbacks run in
 * tasks after a collection, so collect, then yield to the event loop a few times.
 */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    forceGC();
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setImmediate(r));
  }
}
