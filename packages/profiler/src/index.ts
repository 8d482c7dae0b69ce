export { type ChromeTrace } from "./chrome-trace.js";
export type { ProfilerEvent } from "./events.js";
export { type EventAverage, KeyAverages, type SortKey, type TableOptions, formatMemory, formatTime } from "./key-averages.js";
export { Profile, type ProfileOptions, profile, recordFunction } from "./profile.js";
