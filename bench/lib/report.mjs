// Markdown tables of the results, one per section.

export const fmtNum = (v) =>
  v === undefined || Number.isNaN(v) ? "n/a" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);

/** tfjs time / dl time: > 1 means dl is faster. */
export const speedup = (dl, other) => (dl === undefined || other === undefined ? undefined : other / dl);
const fmtX = (x) => (x === undefined ? "n/a" : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}x`);

export function table(header, rows) {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

const LIBS = ["dl", "tfjs-cpu", "tfjs-wasm"];

/** One row per result; `unit` says how a median in ms is shown. */
export function sectionTable(section, results) {
  const training = section === "training";
  const hasTarget = results.some((r) => r.target);
  const unitOf = (r) => (training ? "steps/s" : r.perOp ? "µs/op" : "ms");
  const show = (r, ms) => (ms === undefined ? undefined : training ? 1000 / ms : r.perOp ? (ms * 1000) / r.perOp : ms);
  const header = [
    "workload",
    ...LIBS.map((l) => (training ? `${l} steps/s` : `${l}`)),
    "dl vs tfjs-cpu",
    "dl vs tfjs-wasm",
    ...(hasTarget ? ["target (vs cpu)"] : []),
    training ? "loss |diff|" : "max |diff|",
  ];
  const rows = results.map((r) => {
    const x = speedup(r.dl, r["tfjs-cpu"]);
    const unit = training ? "" : ` ${unitOf(r)}`;
    return [
      r.name,
      ...LIBS.map((l) =>
        r[l] === undefined ? (r.skipped?.[l] ?? "n/a") : `${fmtNum(show(r, r[l]))}${unit}${r[`${l} reps`] === 1 ? "*" : ""}`,
      ),
      fmtX(x),
      fmtX(speedup(r.dl, r["tfjs-wasm"])),
      ...(hasTarget
        ? [r.target ? (x === undefined ? `>= ${r.target}x: n/a` : `>= ${r.target}x: ${x >= r.target ? "met" : "MISSED"}`) : ""]
        : []),
      r.maxAbsDiff === undefined || Number.isNaN(r.maxAbsDiff) ? "n/a" : r.maxAbsDiff.toExponential(1),
    ];
  });
  const single = results.some((r) => LIBS.some((l) => r[`${l} reps`] === 1));
  return table(header, rows) + (single ? "\n* a single call (one call took seconds), not a median" : "");
}
