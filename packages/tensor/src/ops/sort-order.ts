/**
 * The selection and sorting algorithms PyTorch's CPU kernels run (libstdc++'s std::sort,
 * std::nth_element and std::partial_sort, and ATen's quick_select_template), replayed step for
 * step on (value, index) pairs. They are not stable, so the order they leave equal values in is a
 * property of the algorithm; replaying it gives the same indices as PyTorch for ties in
 * sort(stable=false), topk and kthvalue. Only indices come out of here (never differentiable).
 *
 * Every function works in place on `v` (values) and `ix` (their indices) over [first, last).
 */

/** Strict weak order on values, as the C++ comparators. */
export type Less = (a: number, b: number) => boolean;

/** Ascending with NaN last (PyTorch's KeyValueCompAsc). */
export const ascNanLast: Less = (a, b) => (a === a && b !== b) || a < b;
/** Descending with NaN first (KeyValueCompDesc). */
export const descNanFirst: Less = (a, b) => (a !== a && b === b) || a > b;

type Arr = Float64Array;

const THRESHOLD = 16;

function swap(v: Arr, ix: Arr, i: number, j: number): void {
  const t = v[i] as number;
  v[i] = v[j] as number;
  v[j] = t;
  const u = ix[i] as number;
  ix[i] = ix[j] as number;
  ix[j] = u;
}

const lg = (n: number): number => 31 - Math.clz32(n);

/** std::sort. */
export function stdSort(v: Arr, ix: Arr, first: number, last: number, less: Less): void {
  if (last - first < 2) return;
  introsortLoop(v, ix, first, last, 2 * lg(last - first), less);
  finalInsertionSort(v, ix, first, last, less);
}

/** std::nth_element. */
export function nthElement(v: Arr, ix: Arr, first: number, nth: number, last: number, less: Less): void {
  if (first === last || nth === last) return;
  let depth = 2 * lg(last - first);
  while (last - first > 3) {
    if (depth === 0) {
      heapSelect(v, ix, first, nth + 1, last, less);
      swap(v, ix, first, nth);
      return;
    }
    depth--;
    const cut = partitionPivot(v, ix, first, last, less);
    if (cut <= nth) first = cut;
    else last = cut;
  }
  insertionSort(v, ix, first, last, less);
}

/** std::partial_sort. */
export function partialSort(v: Arr, ix: Arr, first: number, middle: number, last: number, less: Less): void {
  heapSelect(v, ix, first, middle, last, less);
  // sort_heap
  while (middle - first > 1) {
    middle--;
    popHeap(v, ix, first, middle, middle, less);
  }
}

/**
 * ATen's quick_select_template (kthvalue): moves the k-th smallest (0-based; NaN largest) to
 * position k of v[0, n).
 */
export function quickSelect(v: Arr, ix: Arr, n: number, k: number): void {
  const gt = (a: number, b: number) => (a !== a && b === b) || a > b;
  let L = 0;
  let R = n - 1;
  for (;;) {
    if (R <= L) return;
    if (R === L + 1) {
      if (gt(v[L] as number, v[R] as number)) swap(v, ix, L, R);
      return;
    }
    const P = L + ((R - L) >> 1);
    swap(v, ix, P, L + 1);
    if (gt(v[L + 1] as number, v[R] as number)) swap(v, ix, L + 1, R);
    if (gt(v[L] as number, v[R] as number)) swap(v, ix, L, R);
    if (gt(v[L + 1] as number, v[L] as number)) swap(v, ix, L + 1, L);
    let i = L + 1;
    let j = R;
    const piv = v[L] as number;
    for (;;) {
      do i++;
      while (gt(piv, v[i] as number));
      do j--;
      while (gt(v[j] as number, piv));
      if (j < i) break;
      swap(v, ix, i, j);
    }
    swap(v, ix, L, j);
    if (j <= k) L = i;
    if (j >= k) R = j - 1;
  }
}

function introsortLoop(v: Arr, ix: Arr, first: number, last: number, depth: number, less: Less): void {
  while (last - first > THRESHOLD) {
    if (depth === 0) {
      partialSort(v, ix, first, last, last, less);
      return;
    }
    depth--;
    const cut = partitionPivot(v, ix, first, last, less);
    introsortLoop(v, ix, cut, last, depth, less);
    last = cut;
  }
}

function partitionPivot(v: Arr, ix: Arr, first: number, last: number, less: Less): number {
  const mid = first + Math.floor((last - first) / 2);
  moveMedianToFirst(v, ix, first, first + 1, mid, last - 1, less);
  // Unguarded partition of [first + 1, last) around the pivot at `first`.
  let lo = first + 1;
  let hi = last;
  for (;;) {
    while (less(v[lo] as number, v[first] as number)) lo++;
    hi--;
    while (less(v[first] as number, v[hi] as number)) hi--;
    if (!(lo < hi)) return lo;
    swap(v, ix, lo, hi);
    lo++;
  }
}

function moveMedianToFirst(v: Arr, ix: Arr, result: number, a: number, b: number, c: number, less: Less): void {
  const va = v[a] as number;
  const vb = v[b] as number;
  const vc = v[c] as number;
  if (less(va, vb)) {
    if (less(vb, vc)) swap(v, ix, result, b);
    else if (less(va, vc)) swap(v, ix, result, c);
    else swap(v, ix, result, a);
  } else if (less(va, vc)) swap(v, ix, result, a);
  else if (less(vb, vc)) swap(v, ix, result, c);
  else swap(v, ix, result, b);
}

function insertionSort(v: Arr, ix: Arr, first: number, last: number, less: Less): void {
  if (first === last) return;
  for (let i = first + 1; i < last; i++) {
    const val = v[i] as number;
    if (less(val, v[first] as number)) {
      const vi = ix[i] as number;
      v.copyWithin(first + 1, first, i);
      ix.copyWithin(first + 1, first, i);
      v[first] = val;
      ix[first] = vi;
    } else unguardedLinearInsert(v, ix, i, less);
  }
}

function unguardedLinearInsert(v: Arr, ix: Arr, last: number, less: Less): void {
  const val = v[last] as number;
  const vi = ix[last] as number;
  let next = last - 1;
  while (less(val, v[next] as number)) {
    v[last] = v[next] as number;
    ix[last] = ix[next] as number;
    last = next;
    next--;
  }
  v[last] = val;
  ix[last] = vi;
}

function finalInsertionSort(v: Arr, ix: Arr, first: number, last: number, less: Less): void {
  if (last - first > THRESHOLD) {
    insertionSort(v, ix, first, first + THRESHOLD, less);
    for (let i = first + THRESHOLD; i < last; i++) unguardedLinearInsert(v, ix, i, less);
  } else insertionSort(v, ix, first, last, less);
}

function adjustHeap(v: Arr, ix: Arr, first: number, hole: number, len: number, val: number, vi: number, less: Less): void {
  const top = hole;
  let second = hole;
  while (second < Math.trunc((len - 1) / 2)) {
    second = 2 * (second + 1);
    if (less(v[first + second] as number, v[first + second - 1] as number)) second--;
    v[first + hole] = v[first + second] as number;
    ix[first + hole] = ix[first + second] as number;
    hole = second;
  }
  if ((len & 1) === 0 && second === Math.trunc((len - 2) / 2)) {
    second = 2 * (second + 1);
    v[first + hole] = v[first + second - 1] as number;
    ix[first + hole] = ix[first + second - 1] as number;
    hole = second - 1;
  }
  // push_heap
  let parent = Math.trunc((hole - 1) / 2);
  while (hole > top && less(v[first + parent] as number, val)) {
    v[first + hole] = v[first + parent] as number;
    ix[first + hole] = ix[first + parent] as number;
    hole = parent;
    parent = Math.trunc((hole - 1) / 2);
  }
  v[first + hole] = val;
  ix[first + hole] = vi;
}

function makeHeap(v: Arr, ix: Arr, first: number, last: number, less: Less): void {
  const len = last - first;
  if (len < 2) return;
  for (let parent = Math.trunc((len - 2) / 2); ; parent--) {
    adjustHeap(v, ix, first, parent, len, v[first + parent] as number, ix[first + parent] as number, less);
    if (parent === 0) return;
  }
}

function popHeap(v: Arr, ix: Arr, first: number, last: number, result: number, less: Less): void {
  const val = v[result] as number;
  const vi = ix[result] as number;
  v[result] = v[first] as number;
  ix[result] = ix[first] as number;
  adjustHeap(v, ix, first, 0, last - first, val, vi, less);
}

function heapSelect(v: Arr, ix: Arr, first: number, middle: number, last: number, less: Less): void {
  makeHeap(v, ix, first, middle, less);
  for (let i = middle; i < last; i++) if (less(v[i] as number, v[first] as number)) popHeap(v, ix, first, middle, i, less);
}
