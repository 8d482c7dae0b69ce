import { DataLoader, Dataset, ProgressBar, formatInterval, formatMeter, formatNum, progress } from "@dl/data";
import { describe, expect, it, vi } from "vitest";
import "../helpers/backends.js";

/** A stream that records writes, and a clock the test advances. */
function setup(isTTY = false, columns?: number) {
  const out: string[] = [];
  let t = 0;
  return {
    out,
    stream: { write: (s: string) => out.push(s), isTTY, columns },
    now: () => t,
    advance: (seconds: number) => {
      t += seconds * 1000;
    },
  };
}

describe("progress", () => {
  it("formatMeter follows tqdm's format_meter", () => {
    expect(formatMeter({ n: 0, total: 4, elapsed: 0, desc: "train" })).toBe("train:   0%|          | 0/4 [00:00<?, ?it/s]");
    expect(formatMeter({ n: 2, total: 4, elapsed: 10, desc: "train", postfix: "loss=0.123" })).toBe(
      "train:  50%|█████     | 2/4 [00:10<00:10,  5.00s/it, loss=0.123]",
    );
    expect(formatMeter({ n: 45, total: 100, elapsed: 1.5 })).toBe(" 45%|████▌     | 45/100 [00:01<00:01, 30.00it/s]");
    // 1/8: 12.5% rounds half to even as Python's format does
    expect(formatMeter({ n: 1, total: 8, elapsed: 1, ascii: true })).toBe(" 12%|#2        | 1/8 [00:01<00:07,  1.00it/s]");
    expect(formatMeter({ n: 45, total: null, elapsed: 1.5, desc: "d" })).toBe("d: 45it [00:01, 30.00it/s]");
    expect(formatMeter({ n: 50, total: 100, elapsed: 3725, ncols: 60 })).toBe(" 50%|█████████         | 50/100 [1:02:05<1:02:05, 74.50s/it]");
    expect(formatMeter({ n: 50, total: 100, elapsed: 3725, ncols: 60 }).length).toBe(60);
    // n past total: tqdm drops the total
    expect(formatMeter({ n: 5, total: 3, elapsed: 1 })).toBe("5it [00:01,  5.00it/s]");
    expect(formatInterval(59.9)).toBe("00:59");
    expect(formatInterval(3600)).toBe("1:00:00");
  });

  it("formatNum: 3 significant digits when shorter (tqdm.format_num)", () => {
    expect(formatNum(0.123456)).toBe("0.123");
    expect(formatNum(0.9)).toBe("0.9");
    expect(formatNum(1234.5)).toBe("1234.5");
    expect(formatNum(1e-7)).toBe("1e-7");
    expect(formatNum(0.000123456)).toBe("0.000123");
    expect(formatNum(12345678)).toBe("1.23e+7");
    expect(formatNum(100)).toBe("100");
  });

  it("non-TTY: plain lines at start, every minInterval seconds, and at the end, with the postfix", () => {
    const s = setup(false);
    const bar = progress([1, 2, 3, 4], { desc: "train", stream: s.stream, now: s.now });
    expect(bar.total).toBe(4);
    for (const _ of bar) {
      s.advance(5);
      bar.setPostfix({ loss: 0.123456, acc: 0.9 }, false);
    }
    expect(s.out).toEqual([
      "train:   0%|          | 0/4 [00:00<?, ?it/s]\n",
      "train:  50%|█████     | 2/4 [00:10<00:10,  5.00s/it, loss=0.123, acc=0.9]\n",
      "train: 100%|██████████| 4/4 [00:20<00:00,  5.00s/it, loss=0.123, acc=0.9]\n",
    ]);
    expect(s.out.every((l) => !l.includes("\r"))).toBe(true);
  });

  it("TTY: redraws in place with carriage returns, padding over a longer previous line, newline at close", () => {
    const s = setup(true);
    const bar = progress(null, { total: 3, stream: s.stream, now: s.now, ncols: 40 });
    s.advance(1);
    bar.setPostfix({ loss: 12.5 });
    s.advance(1);
    bar.setPostfixStr("");
    bar.update(3);
    bar.close();
    bar.close();
    expect(s.out[0]).toMatch(/^\r {2}0%\| {13}\| 0\/3 \[00:00<\?, \?it\/s\]$/);
    expect(s.out[0]?.length).toBe(1 + 40);
    expect(s.out[1]).toMatch(/^\r {2}0%\|.*\| 0\/3 \[00:01<\?, \?it\/s, loss=12\.5\]$/);
    expect(s.out.at(-1)).toBe("\n");
    const last = s.out.at(-2) as string;
    expect(last.startsWith("\r100%|")).toBe(true);
    expect(last.trimEnd().endsWith("| 3/3 [00:02<00:00,  1.50it/s]")).toBe(true);
    // padded with spaces over the longer line before it
    expect(last.length).toBeGreaterThanOrEqual((s.out.at(-3) as string).length);
    expect(last.trimEnd().length).toBe(1 + 40);
  });

  it("wraps a DataLoader (total = its length) and async iterables; disable draws nothing", async () => {
    class Range extends Dataset<number> {
      getItem(i: number) {
        return i;
      }
      get length() {
        return 10;
      }
    }
    const s = setup(false);
    const loader = new DataLoader(new Range(), { batchSize: 4 });
    const bar = progress(loader, { desc: "epoch 1", stream: s.stream, now: s.now, minInterval: 0 });
    expect(bar).toBeInstanceOf(ProgressBar);
    expect(bar.total).toBe(3);
    let n = 0;
    for await (const b of bar) n += b.shape[0] as number;
    expect(n).toBe(10);
    expect(s.out.at(-1)).toBe("epoch 1: 100%|██████████| 3/3 [00:00<?, ?it/s]\n");

    async function* gen() {
      yield 1;
      yield 2;
    }
    const q = setup(false);
    const items: number[] = [];
    for await (const v of progress(gen(), { stream: q.stream, now: q.now })) items.push(v);
    expect(items).toEqual([1, 2]);
    expect(q.out.at(-1)).toBe("2it [00:00, ?it/s]\n");

    const d = setup(true);
    for (const _ of progress([1, 2], { stream: d.stream, disable: true })) {
      // nothing
    }
    expect(d.out).toEqual([]);
  });

  it("breaking out of the loop closes the bar with the count reached", () => {
    const s = setup(false);
    for (const v of progress([1, 2, 3, 4], { stream: s.stream, now: s.now })) if (v === 2) break;
    expect(s.out.at(-1)).toBe(" 25%|██▌       | 1/4 [00:00<?, ?it/s]\n");
  });

  it("defaults to process.stderr (no node: import)", () => {
    const spy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const bar = progress(null, { total: 2, tty: false });
      bar.update(2);
      bar.close();
      expect(spy).toHaveBeenCalled();
      expect(String(spy.mock.calls.at(-1)?.[0])).toMatch(/100%\|██████████\| 2\/2/);
    } finally {
      spy.mockRestore();
    }
  });
});
