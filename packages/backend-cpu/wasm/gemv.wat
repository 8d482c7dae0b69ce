;; Matrix-vector kernels for the CPU backend (float32, WebAssembly SIMD), for products with a few
;; rows of A (a language model's decoding step: one token's activations times every weight matrix).
;;
;; Assembled by tooling/build-wasm.mjs into packages/backend-cpu/src/gemv-wasm.ts; gemv.ts copies a
;; block of B into this module's memory (one pass over the weights, which is what bounds these
;; products: each weight is used once per row of A) and calls one kernel per block.
;;
;; dot_f32:  out[m * ldo + j] = sum_k a[m * K + k] * w[j * K + k]   for m < rows, j < n
;;   (B stored as W^T rows: nn.Linear's weight). Each product is summed in 8 float32 lanes
;;   (two vectors, k in steps of 8), then the lanes pairwise, then the k % 8 tail in order.
;; axpy_f32: out[m * ldo + j] (+)= sum_k a[m * K + k] * w[k * n + j]  for k < kc (B row-major:
;;   GPT-2's Conv1D weight); $first != 0 stores instead of adding. Each output is summed in k order.
;; Offsets are bytes; a, w and out 16-byte aligned; n a multiple of 4 for axpy_f32.
(module
  (import "gemv" "memory" (memory 1 65536))

  (func (export "dot_f32")
    (param $a i32) (param $w i32) (param $out i32) (param $rows i32) (param $n i32) (param $K i32) (param $ldo i32)
    (local $m i32) (local $j i32) (local $k i32) (local $pa i32) (local $pw i32) (local $k8 i32)
    (local $s0 v128) (local $s1 v128) (local $s f32)
    (local.set $k8 (i32.and (local.get $K) (i32.const -8)))
    (local.set $j (i32.const 0))
    (block $done_j
      (loop $rows_of_w
        (br_if $done_j (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $m (i32.const 0))
        (loop $rows_of_a
          (local.set $pa (i32.add (local.get $a) (i32.shl (i32.mul (local.get $m) (local.get $K)) (i32.const 2))))
          (local.set $pw (i32.add (local.get $w) (i32.shl (i32.mul (local.get $j) (local.get $K)) (i32.const 2))))
          (local.set $s0 (v128.const i32x4 0 0 0 0))
          (local.set $s1 (v128.const i32x4 0 0 0 0))
          (local.set $k (i32.const 0))
          (block $done_k
            (loop $k8s
              (br_if $done_k (i32.ge_u (local.get $k) (local.get $k8)))
              (local.set $s0 (f32x4.add (local.get $s0)
                (f32x4.mul (v128.load offset=0 (local.get $pa)) (v128.load offset=0 (local.get $pw)))))
              (local.set $s1 (f32x4.add (local.get $s1)
                (f32x4.mul (v128.load offset=16 (local.get $pa)) (v128.load offset=16 (local.get $pw)))))
              (local.set $pa (i32.add (local.get $pa) (i32.const 32)))
              (local.set $pw (i32.add (local.get $pw) (i32.const 32)))
              (local.set $k (i32.add (local.get $k) (i32.const 8)))
              (br $k8s)))
          (local.set $s0 (f32x4.add (local.get $s0) (local.get $s1)))
          (local.set $s (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $s0)) (f32x4.extract_lane 1 (local.get $s0)))
            (f32.add (f32x4.extract_lane 2 (local.get $s0)) (f32x4.extract_lane 3 (local.get $s0)))))
          (block $done_tail
            (loop $tail
              (br_if $done_tail (i32.ge_u (local.get $k) (local.get $K)))
              (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pw)))))
              (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
              (local.set $pw (i32.add (local.get $pw) (i32.const 4)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $tail)))
          (f32.store
            (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $m) (local.get $ldo)) (local.get $j)) (i32.const 2)))
            (local.get $s))
          (local.set $m (i32.add (local.get $m) (i32.const 1)))
          (br_if $rows_of_a (i32.lt_u (local.get $m) (local.get $rows))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rows_of_w))))

  (func (export "axpy_f32")
    (param $a i32) (param $w i32) (param $out i32) (param $rows i32) (param $n i32) (param $kc i32) (param $K i32) (param $ldo i32) (param $first i32)
    (local $m i32) (local $k i32) (local $j i32) (local $po i32) (local $pw i32) (local $x v128) (local $nb i32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $m (i32.const 0))
    (loop $rows_of_a
      (local.set $k (i32.const 0))
      (loop $ks
        ;; x = splat(a[m * K + k]); out[m, :] (+)= x * w[k, :]
        (local.set $x (v128.load32_splat
          (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (local.get $m) (local.get $K)) (local.get $k)) (i32.const 2)))))
        (local.set $po (i32.add (local.get $out) (i32.shl (i32.mul (local.get $m) (local.get $ldo)) (i32.const 2))))
        (local.set $pw (i32.add (local.get $w) (i32.mul (local.get $k) (local.get $nb))))
        (local.set $j (i32.const 0))
        (if (i32.and (i32.eqz (local.get $k)) (i32.ne (local.get $first) (i32.const 0)))
          (then
            (block $stored
              (loop $store
                (br_if $stored (i32.ge_u (local.get $j) (local.get $n)))
                (v128.store (local.get $po) (f32x4.mul (local.get $x) (v128.load (local.get $pw))))
                (local.set $po (i32.add (local.get $po) (i32.const 16)))
                (local.set $pw (i32.add (local.get $pw) (i32.const 16)))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $store))))
          (else
            (block $added
              (loop $add
                (br_if $added (i32.ge_u (local.get $j) (local.get $n)))
                (v128.store (local.get $po)
                  (f32x4.add (v128.load (local.get $po)) (f32x4.mul (local.get $x) (v128.load (local.get $pw)))))
                (local.set $po (i32.add (local.get $po) (i32.const 16)))
                (local.set $pw (i32.add (local.get $pw) (i32.const 16)))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $add)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $ks (i32.lt_u (local.get $k) (local.get $kc))))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br_if $rows_of_a (i32.lt_u (local.get $m) (local.get $rows)))))
)
