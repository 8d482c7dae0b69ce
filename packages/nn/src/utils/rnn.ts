import {
  ArgumentError,
  DTypeError,
  ShapeError,
  Tensor,
  type ToOptions,
  cat,
  fmtShape,
  fromHost,
  full,
  indexSelect,
  promoteTypes,
} from "@dl/tensor";

/**
 * Variable-length sequences in one tensor (torch.nn.utils.rnn): PackedSequence, packPaddedSequence,
 * padPackedSequence, padSequence, packSequence, unpadSequence, unpackSequence.
 *
 * Packing reorders the batch by decreasing length and stores time step after time step, each step
 * holding only the sequences still running: `data` is [sum(lengths), *] and `batchSizes[t]` says
 * how many rows step t has. Every data movement is one indexSelect, so gradients flow through
 * packing and unpacking.
 */
export class PackedSequence {
  /** Rows of all sequences, time step after time step ([sum(lengths), *]). */
  readonly data: Tensor;
  /** int64 (on the CPU, as in PyTorch): rows per time step, non-increasing. */
  readonly batchSizes: Tensor;
  /** int64: sortedIndices[i] is the original batch index of the i-th longest sequence (null: already sorted). */
  readonly sortedIndices: Tensor | null;
  /** int64: the inverse permutation of sortedIndices. */
  readonly unsortedIndices: Tensor | null;

  constructor(data: Tensor, batchSizes: Tensor, sortedIndices: Tensor | null = null, unsortedIndices: Tensor | null = null) {
    if (batchSizes.ndim !== 1 || batchSizes.dtype !== "int64") {
      throw new ArgumentError(
        "PackedSequence",
        `batchSizes should be a 1-D int64 tensor, got ${batchSizes.dtype} of shape ${fmtShape(batchSizes.shape)}; build PackedSequences with packPaddedSequence or packSequence`,
      );
    }
    this.data = data;
    this.batchSizes = batchSizes;
    this.sortedIndices = sortedIndices;
    this.unsortedIndices = unsortedIndices ?? invertPermutation(sortedIndices);
  }

  /** batch_sizes as numbers (host metadata: reading it is free of any gradient concern). */
  batchSizesList(): number[] {
    return Array.from(this.batchSizes.dataSync(), Number);
  }

  /** A PackedSequence whose data is converted (dtype and/or device); indices follow the data's device. */
  to(target: string | ToOptions): PackedSequence {
    const data = this.data.to(target);
    if (data === this.data) return this;
    const move = (t: Tensor | null) => (t === null ? null : t.to({ device: data.device }));
    return new PackedSequence(data, this.batchSizes, move(this.sortedIndices), move(this.unsortedIndices));
  }

  get isCuda(): boolean {
    return false;
  }

  isPinned(): boolean {
    return false;
  }
}

/** The inverse of a permutation (torch.nn.utils.rnn.invert_permutation). */
export function invertPermutation(permutation: Tensor | null): Tensor | null {
  if (permutation === null) return null;
  const p = permutation.dataSync();
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) out[Number(p[i])] = i;
  return fromHost(out, [p.length], { dtype: "int64", device: permutation.device });
}

function lengthsList(op: string, lengths: readonly number[] | Tensor): number[] {
  if (lengths instanceof Tensor) {
    if (lengths.ndim !== 1) throw new ShapeError(op, `lengths must be a 1-D tensor, got shape ${fmtShape(lengths.shape)}`);
    if (lengths.isFloatingPoint() || lengths.dtype === "bool")
      throw new DTypeError(op, `lengths must be an integer tensor, got ${lengths.dtype}`);
    return Array.from(lengths.dataSync(), Number);
  }
  return [...lengths];
}

const int64 = (values: readonly number[], device = "cpu") => fromHost(values, [values.length], { dtype: "int64", device });

/**
 * Packs a padded batch ([T, B, *], or [B, T, *] with batchFirst) of sequences with the given
 * lengths (torch.nn.utils.rnn.pack_padded_sequence). With enforceSorted (the default) lengths must
 * be non-increasing; otherwise the batch is sorted by decreasing length (stable) and the
 * permutation is kept in the result.
 */
export function packPaddedSequence(
  input: Tensor,
  lengths: readonly number[] | Tensor,
  options: { batchFirst?: boolean; enforceSorted?: boolean } = {},
): PackedSequence {
  const op = "packPaddedSequence";
  const batchFirst = options.batchFirst ?? false;
  const enforceSorted = options.enforceSorted ?? true;
  const lens = lengthsList(op, lengths);
  if (input.ndim < 2)
    throw new ShapeError(
      op,
      `input must have at least 2 dimensions (${batchFirst ? "B x T" : "T x B"} x *), got shape ${fmtShape(input.shape)}`,
    );
  const T = input.shape[batchFirst ? 1 : 0] as number;
  const B = input.shape[batchFirst ? 0 : 1] as number;
  if (lens.length !== B)
    throw new ShapeError(op, `expected ${B} lengths (the batch size of input ${fmtShape(input.shape)}), got ${lens.length}`);
  for (const l of lens) {
    if (!Number.isInteger(l)) throw new ArgumentError(op, `lengths must be integers, got ${l}`);
    if (l <= 0)
      throw new ArgumentError(op, "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0");
    if (l > T) throw new ShapeError(op, `a length (${l}) is larger than the padded sequence length ${T} of input ${fmtShape(input.shape)}`);
  }
  let order = lens.map((_, i) => i);
  if (enforceSorted) {
    for (let i = 1; i < lens.length; i++) {
      if ((lens[i] as number) > (lens[i - 1] as number)) {
        throw new ArgumentError(
          op,
          "`lengths` array must be sorted in decreasing order when `enforceSorted` is true. You can pass `enforceSorted: false` to packPaddedSequence and/or packSequence to sidestep this requirement if you do not need ONNX exportability.",
        );
      }
    }
  } else {
    order = order.sort((a, b) => (lens[b] as number) - (lens[a] as number));
  }
  const sorted = order.map((i) => lens[i] as number);
  const maxLen = sorted[0] as number;
  const batchSizes: number[] = [];
  for (let t = 0; t < maxLen; t++) {
    let n = 0;
    while (n < B && (sorted[n] as number) > t) n++;
    batchSizes.push(n);
  }
  // One gather: row (t, b) of the packed data is input[t, order[b]] (input[order[b], t] batch first).
  const rows: number[] = [];
  for (let t = 0; t < maxLen; t++) {
    for (let b = 0; b < (batchSizes[t] as number); b++) rows.push(batchFirst ? (order[b] as number) * T + t : t * B + (order[b] as number));
  }
  const flat = input.reshape([T * B, ...input.shape.slice(2)]);
  const data = indexSelect(flat, 0, int64(rows, input.device));
  const sortedIndices = enforceSorted ? null : int64(order, input.device);
  return new PackedSequence(data, int64(batchSizes), sortedIndices, null);
}

/**
 * Pads a packed batch back to [T, B, *] (or [B, T, *] with batchFirst), in the original batch
 * order (torch.nn.utils.rnn.pad_packed_sequence). Returns [padded, lengths] with lengths an int64
 * tensor. totalLength pads to that many steps (at least the longest sequence).
 */
export function padPackedSequence(
  sequence: PackedSequence,
  options: { batchFirst?: boolean; paddingValue?: number; totalLength?: number | null } = {},
): [Tensor, Tensor] {
  const op = "padPackedSequence";
  const batchFirst = options.batchFirst ?? false;
  const bs = sequence.batchSizesList();
  const maxLen = bs.length;
  const total = options.totalLength ?? maxLen;
  if (total < maxLen) {
    throw new ArgumentError(
      op,
      `Expected totalLength to be at least the length of the longest sequence in input, but got totalLength=${total} and max sequence length being ${maxLen}`,
    );
  }
  const data = sequence.data;
  const B = bs[0] ?? 0;
  const N = data.shape[0] as number;
  const sortedLens = new Array<number>(B).fill(0);
  const rowOf: number[][] = Array.from({ length: B }, () => []);
  let at = 0;
  for (const n of bs) {
    for (let b = 0; b < n; b++) {
      (rowOf[b] as number[]).push(at + b);
      sortedLens[b] = (sortedLens[b] as number) + 1;
    }
    at += n;
  }
  if (at !== N) throw new ShapeError(op, `batchSizes sum to ${at} but the packed data has ${N} rows (shape ${fmtShape(data.shape)})`);
  // Original batch b sits at sorted position pos[b].
  const unsorted = sequence.unsortedIndices ? Array.from(sequence.unsortedIndices.dataSync(), Number) : null;
  const pos = (b: number) => (unsorted ? (unsorted[b] as number) : b);
  // One gather from [data; padding row]: padded position (t, b) reads its row or the padding row N.
  const map: number[] = [];
  const rowAt = (t: number, b: number) => (rowOf[pos(b)] as number[])[t] ?? N;
  if (batchFirst) for (let b = 0; b < B; b++) for (let t = 0; t < total; t++) map.push(rowAt(t, b));
  else for (let t = 0; t < total; t++) for (let b = 0; b < B; b++) map.push(rowAt(t, b));
  const feat = data.shape.slice(1);
  const padRow = full([1, ...feat], options.paddingValue ?? 0, { dtype: data.dtype, device: data.device });
  const src = cat([data, padRow], 0);
  const padded = indexSelect(src, 0, int64(map, data.device)).view(batchFirst ? [B, total, ...feat] : [total, B, ...feat]);
  const lengths = Array.from({ length: B }, (_, b) => sortedLens[pos(b)] as number);
  return [padded, int64(lengths)];
}

/**
 * Stacks sequences of shapes [L_i, *] into [maxL, B, *] (or [B, maxL, *] with batchFirst), padding
 * with paddingValue (torch.nn.utils.rnn.pad_sequence).
 */
export function padSequence(sequences: readonly Tensor[], options: { batchFirst?: boolean; paddingValue?: number } = {}): Tensor {
  const op = "padSequence";
  if (sequences.length === 0) throw new ArgumentError(op, "received an empty list of sequences");
  const first = sequences[0] as Tensor;
  if (first.ndim === 0) throw new ShapeError(op, "sequences must have at least 1 dimension (L x *), got a 0-D tensor");
  const feat = first.shape.slice(1);
  sequences.forEach((s, i) => {
    if (s.ndim !== first.ndim || s.shape.slice(1).some((n, k) => n !== feat[k])) {
      throw new ShapeError(
        op,
        `sequences must have equal trailing dimensions: sequence 0 has shape ${fmtShape(first.shape)}, sequence ${i} has shape ${fmtShape(s.shape)}`,
      );
    }
  });
  const lens = sequences.map((s) => s.shape[0] as number);
  const B = sequences.length;
  const maxLen = Math.max(...lens);
  const starts: number[] = [];
  let N = 0;
  for (const l of lens) {
    starts.push(N);
    N += l;
  }
  const batchFirst = options.batchFirst ?? false;
  const map: number[] = [];
  const rowAt = (t: number, b: number) => (t < (lens[b] as number) ? (starts[b] as number) + t : N);
  if (batchFirst) for (let b = 0; b < B; b++) for (let t = 0; t < maxLen; t++) map.push(rowAt(t, b));
  else for (let t = 0; t < maxLen; t++) for (let b = 0; b < B; b++) map.push(rowAt(t, b));
  const dtype = sequences.map((s) => s.dtype).reduce(promoteTypes);
  const padRow = full([1, ...feat], options.paddingValue ?? 0, { dtype, device: first.device });
  const src = cat([...sequences, padRow], 0);
  return indexSelect(src, 0, int64(map, first.device)).view(batchFirst ? [B, maxLen, ...feat] : [maxLen, B, ...feat]);
}

/** Packs a list of sequences [L_i, *] (torch.nn.utils.rnn.pack_sequence). */
export function packSequence(sequences: readonly Tensor[], options: { enforceSorted?: boolean } = {}): PackedSequence {
  const lengths = sequences.map((s) => s.shape[0] as number);
  return packPaddedSequence(padSequence(sequences), lengths, { enforceSorted: options.enforceSorted ?? true });
}

/** Splits a padded batch back into its sequences [L_i, *] (torch.nn.utils.rnn.unpad_sequence). */
export function unpadSequence(
  paddedSequences: Tensor,
  lengths: readonly number[] | Tensor,
  options: { batchFirst?: boolean } = {},
): Tensor[] {
  const lens = lengthsList("unpadSequence", lengths);
  const batchDim = options.batchFirst ? 0 : 1;
  return lens.map((l, b) => paddedSequences.select(batchDim, b).narrow(0, 0, l));
}

/** The sequences [L_i, *] of a PackedSequence, in the original order (torch.nn.utils.rnn.unpack_sequence). */
export function unpackSequence(packedSequences: PackedSequence): Tensor[] {
  const [padded, lengths] = padPackedSequence(packedSequences, { batchFirst: true });
  return unpadSequence(padded, lengths, { batchFirst: true });
}
