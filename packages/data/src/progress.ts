/**
 * A tqdm-like progress bar. On a terminal it redraws one line in place:
 *
 *   train:  45%|████▌     | 45/100 [00:01<00:02, 30.12it/s, loss=0.123, acc=0.9]
 *
 * Elsewhere (CI logs, files, browsers) it prints the same text as plain lines, at most one every
 * `minInterval` seconds (10 by default) plus the final one. No Node module is imported: the default
 * stream is `globalThis.process.stderr` when there is one, else the console.
 */

/** Where the bar writes. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  /** Terminal width. */
  columns?: number;
}

export interface ProgressOptions {
  /** Expected number of iterations (default: the iterable's `length` or `size`, if any). */
  total?: number | null;
  /** Prefix of the bar. */
  desc?: string;
  /** Unit name (default "it"). */
  unit?: string;
  /** Where to write (default: process.stderr in Node, the console in browsers). */
  stream?: ProgressStream;
  /** Redraw in place (default: stream.isTTY). */
  tty?: boolean;
  /** Minimum seconds between redraws (default 0.1 on a TTY, 10 otherwise). */
  minInterval?: number;
  /** Total width of the line on a TTY (default: the terminal's width; the bar is 10 wide without one). */
  ncols?: number;
  /** ASCII bar (`#`) instead of Unicode blocks. */
  ascii?: boolean;
  /** Keep the final bar on screen (default true). */
  leave?: boolean;
  /** Draw nothing. */
  disable?: boolean;
  /** Clock in milliseconds (default performance.now / Date.now). */
  now?: () => number;
}

/** tqdm's format_interval: [H:]MM:SS. */
export function formatInterval(seconds: number): string {
  const t = Math.floor(seconds);
  const mins = Math.floor(t / 60);
  const s = t % 60;
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  const two = (v: number) => String(v).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/** Python's '{:.3g}'.format(x) (general format, `precision` significant digits). */
function formatG(x: number, precision = 3): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mant, expStr] = x.toExponential(precision - 1).split("e") as [string, string];
  const exp = Number(expStr);
  const strip = (s: string) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp < -4 || exp >= precision) {
    const e = Math.abs(exp);
    return `${strip(mant)}e${exp < 0 ? "-" : "+"}${e < 10 ? `0${e}` : e}`;
  }
  return strip(x.toFixed(Math.max(0, precision - 1 - exp)));
}

/** tqdm's format_num: 3 significant digits when that is shorter than the plain number. */
export function formatNum(x: number): string {
  const f = formatG(x).replace("+0", "+").replace("-0", "-");
  const s = String(x);
  return f.length < s.length ? f : s;
}

/**
 * Python's f"{x:.{digits}f}": like toFixed, except that exact ties round half to even (toFixed
 * rounds them away from zero), so 12.5 gives "12" as in Python.
 */
export function pyFixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  if (!Number.isFinite(x)) return s;
  const long = Math.abs(x).toFixed(Math.min(100, digits + 30));
  const dot = long.indexOf(".");
  const tail = long.slice(dot + 1 + digits);
  if (!/^50*$/.test(tail)) return s;
  const truncated = long.slice(0, digits === 0 ? dot : dot + 1 + digits);
  const last = Number(truncated[truncated.length - 1]);
  if (last % 2 === 1) return s;
  return x < 0 && Number(truncated) !== 0 ? `-${truncated}` : truncated;
}

const UNICODE_BLOCKS = " ▏▎▍▌▋▊▉█";
const ASCII_BLOCKS = " 123456789#";

function drawBar(frac: number, width: number, ascii: boolean): string {
  const chars = ascii ? ASCII_BLOCKS : UNICODE_BLOCKS;
  const nsyms = chars.length - 1;
  const units = Math.floor(Math.min(Math.max(frac, 0), 1) * width * nsyms);
  const full = Math.floor(units / nsyms);
  const part = units % nsyms;
  let bar = (chars[nsyms] as string).repeat(full);
  if (full < width) bar += (chars[part] as string) + " ".repeat(width - full - 1);
  return bar;
}

export interface FormatMeterArgs {
  n: number;
  total: number | null;
  elapsed: number;
  desc?: string;
  unit?: string;
  postfix?: string;
  ncols?: number;
  ascii?: boolean;
}

/** tqdm's format_meter (with the average rate over the whole run). */
export function formatMeter(a: FormatMeterArgs): string {
  const unit = a.unit ?? "it";
  let total = a.total;
  if (total !== null && a.n >= total + 0.5) total = null;
  const rate = a.elapsed > 0 ? a.n / a.elapsed : null;
  let rateFmt: string;
  if (!rate) rateFmt = `?${unit}/s`;
  else if (1 / rate > 1) rateFmt = `${pyFixed(1 / rate, 2).padStart(5)}s/${unit}`;
  else rateFmt = `${pyFixed(rate, 2).padStart(5)}${unit}/s`;
  const postfix = a.postfix ? `, ${a.postfix}` : "";
  const prefix = a.desc ? `${a.desc}: ` : "";
  const elapsed = formatInterval(a.elapsed);
  if (total === null) return `${prefix}${a.n}${unit} [${elapsed}, ${rateFmt}${postfix}]`;
  const frac = total > 0 ? a.n / total : 1;
  const remaining = rate ? formatInterval((total - a.n) / rate) : "?";
  const lBar = `${prefix}${pyFixed(frac * 100, 0).padStart(3)}%|`;
  const rBar = `| ${a.n}/${total} [${elapsed}<${remaining}, ${rateFmt}${postfix}]`;
  const width = a.ncols ? Math.max(1, a.ncols - lBar.length - rBar.length) : 10;
  return `${lBar}${drawBar(frac, width, a.ascii ?? false)}${rBar}`;
}

function defaultStream(): ProgressStream {
  const stderr = (globalThis as { process?: { stderr?: ProgressStream } }).process?.stderr;
  if (stderr && typeof stderr.write === "function") return stderr;
  return { write: (text: string) => console.log(text.replace(/\n$/, "")), isTTY: false };
}

function defaultNow(): () => number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  return perf ? () => perf.now() : () => Date.now();
}

function lengthOf(x: unknown): number | null {
  if (x === null || typeof x !== "object") return null;
  try {
    const o = x as { length?: unknown; size?: unknown };
    if (typeof o.length === "number") return o.length;
    if (typeof o.size === "number") return o.size;
  } catch {
    // a length getter that throws (e.g. a DataLoader over an IterableDataset without length)
  }
  return null;
}

/** A progress bar over an iterable (sync or async), or a manual one (update(n)). */
export class ProgressBar<T = unknown> implements Iterable<T>, AsyncIterable<T> {
  /** Iterations done. */
  n = 0;
  total: number | null;
  desc: string;
  private readonly source: Iterable<T> | AsyncIterable<T> | null;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly minInterval: number;
  private readonly options: ProgressOptions;
  private readonly now: () => number;
  private readonly start: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastLen = 0;
  private lastLine = "";
  private postfix = "";
  private closed = false;

  constructor(iterable: Iterable<T> | AsyncIterable<T> | null = null, options: ProgressOptions = {}) {
    this.source = iterable;
    this.options = options;
    this.total = options.total !== undefined ? options.total : lengthOf(iterable);
    this.desc = options.desc ?? "";
    this.stream = options.stream ?? defaultStream();
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.minInterval = options.minInterval ?? (this.tty ? 0.1 : 10);
    this.now = options.now ?? defaultNow();
    this.start = this.now();
    this.draw(true);
  }

  /** Seconds since the bar was made. */
  get elapsed(): number {
    return (this.now() - this.start) / 1000;
  }

  /** The current line's text. */
  format(): string {
    // a terminal's own width less one column, so that the line never wraps
    const termCols = this.tty && this.stream.columns ? this.stream.columns - 1 : undefined;
    return formatMeter({
      n: this.n,
      total: this.total,
      elapsed: this.elapsed,
      desc: this.desc,
      unit: this.options.unit,
      postfix: this.postfix,
      ncols: this.options.ncols ?? termCols,
      ascii: this.options.ascii,
    });
  }

  private draw(force = false): void {
    if (this.options.disable || this.closed) return;
    const t = this.now();
    if (!force && (t - this.lastDraw) / 1000 < this.minInterval) return;
    this.lastDraw = t;
    const line = this.format();
    this.lastLine = line;
    if (this.tty) {
      this.stream.write(`\r${line}${" ".repeat(Math.max(0, this.lastLen - line.length))}`);
      this.lastLen = line.length;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /** Advances by `n` iterations. */
  update(n = 1): void {
    this.n += n;
    this.draw();
  }

  /** Redraws now. */
  refresh(): void {
    this.draw(true);
  }

  /** tqdm.set_postfix: `key=value` pairs after the rate; numbers get 3 significant digits. */
  setPostfix(values: Record<string, unknown>, refresh = true): void {
    this.postfix = Object.entries(values)
      .map(([k, v]) => `${k}=${(typeof v === "number" ? formatNum(v) : String(v)).trim()}`)
      .join(", ");
    if (refresh) this.draw();
  }

  /** tqdm.set_postfix_str. */
  setPostfixStr(text: string, refresh = true): void {
    this.postfix = text;
    if (refresh) this.draw();
  }

  setDescription(desc: string, refresh = true): void {
    this.desc = desc;
    if (refresh) this.draw();
  }

  /** Draws the final state and ends the line. */
  close(): void {
    if (this.closed) return;
    if (!this.options.disable) {
      const leave = this.options.leave ?? true;
      if (this.tty) {
        if (leave) {
          this.draw(true);
          this.stream.write("\n");
        } else this.stream.write(`\r${" ".repeat(this.lastLen)}\r`);
      } else if (leave && this.format() !== this.lastLine) this.draw(true); // no duplicate final line
    }
    this.closed = true;
  }

  *[Symbol.iterator](): Iterator<T> {
    const src = this.source as Iterable<T> | null;
    if (!src || typeof (src as Iterable<T>)[Symbol.iterator] !== "function") {
      throw new TypeError("progress: the wrapped object is not iterable synchronously: use for await");
    }
    try {
      for (const x of src) {
        yield x;
        this.update();
      }
    } finally {
      this.close();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    const src = this.source;
    if (!src) throw new TypeError("progress: no iterable to wrap");
    try {
      if (typeof (src as AsyncIterable<T>)[Symbol.asyncIterator] === "function") {
        for await (const x of src as AsyncIterable<T>) {
          yield x;
          this.update();
        }
      } else {
        for (const x of src as Iterable<T>) {
          yield x;
          this.update();
        }
      }
    } finally {
      this.close();
    }
  }
}

/**
 * tqdm(iterable, total=, desc=): wraps an iterable or async iterable (for / for await) in a
 * progress bar; `progress(null, { total })` makes a manual bar driven by update(n).
 */
export function progress<T>(iterable: Iterable<T> | AsyncIterable<T> | null, options: ProgressOptions = {}): ProgressBar<T> {
  return new ProgressBar<T>(iterable, options);
}
