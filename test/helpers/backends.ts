import { cpuBackend } from "@dl/backend-cpu";
import { type Backend, registerBackend, setDefaultDevice } from "@dl/tensor";
import { beforeAll, describe } from "vitest";

/**
 * The backends every shared suite runs against. A suite written with describeEachBackend runs
 * once per entry, with that backend as the default device, so a new backend inherits every test.
 */
export const testBackends: { device: string; backend: Backend }[] = [{ device: "cpu", backend: cpuBackend }];

registerBackend(cpuBackend);

export function describeEachBackend(title: string, body: (device: string) => void): void {
  for (const { device, backend } of testBackends) {
    describe(`${title} [${device}]`, () => {
      beforeAll(() => {
        registerBackend(backend);
        setDefaultDevice(device);
      });
      body(device);
    });
  }
}
