/** One recorded range: an op (a backend kernel), a module's forward, a backward node or a user range. */
export interface ProfilerEvent {
  /** `dl::add`, `nn.Module: Linear`, `autograd::engine::evaluate_function: AddmmBackward0`, or a recordFunction name. */
  name: string;
  kind: "op" | "module" | "backward" | "user";
  /** Start and end, in microseconds since the profile began. */
  start: number;
  end: number;
  /** Nesting depth (0 = top level) and the enclosing event's index in Profile.events (-1 for none). */
  depth: number;
  parent: number;
  /** Device of an op ("cpu", "gpu", ...). */
  device?: string;
  /** Operand shapes of an op (with recordShapes). */
  inputShapes?: number[][];
  /** Bytes the backend held after the event minus before (with profileMemory); children included. */
  bytes?: number;
  /** Total time of the direct children, in microseconds (self time = duration - this). */
  childTime: number;
  /** Bytes of the direct children (self memory = bytes - this). */
  childBytes: number;
  /** The call stack where the event began (with withStack). */
  stack?: string;
}

export const duration = (e: ProfilerEvent): number => e.end - e.start;
export const selfTime = (e: ProfilerEvent): number => e.end - e.start - e.childTime;
