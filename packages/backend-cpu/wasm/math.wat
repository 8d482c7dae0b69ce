;; Vectorised float32 transcendentals for the CPU backend, in WebAssembly SIMD (128-bit).
;;
;; Assembled by tooling/build-wasm.mjs into packages/backend-cpu/src/math-wasm.ts; simd-math.ts
;; copies float32 data into this module's memory in chunks, calls one map per chunk (in place), and
;; copies the results out. Each map reads and writes ceil(n / 4) whole vectors at byte offset $p
;; (the caller leaves room for the padding lanes).
;;
;; Accuracy (float32 arithmetic, no fused multiply-add; tested against the float64 Math.* results
;; rounded to float32 in packages/backend-cpu/test/simd-math.test.ts): exp, tanh and erf within 2 ulp,
;; sigmoid within 3 ulp, over the whole float32 range, subnormal results included.
;; NaN propagates (f32x4.min/max return NaN for a NaN operand), +-inf give the limits.
;; Constants are written as splats of scalars; tooling/build-wasm.mjs moves them into a constant pool
;; (the first bytes of memory, loaded once per call) and inlines the functions marked `;; @inline`
;; (V8 does not inline WebAssembly calls): a call per vector and a splat rematerialized in every
;; loop iteration cost more than the polynomial. The data therefore start at byte 1024 (HEAP_BASE).
(module
  ;; logSoftmax's log of each row's sum (one call per row).
  (import "Math" "log" (func $log (param f64) (result f64)))
  ;; Grown by simd-math.ts when a kernel needs more than the streaming buffer.
  (memory (export "memory") 1)

  ;; e^x: x = n ln2 + r (Cody-Waite: ln2 in two parts, |r| <= ln2/2), e^r by Cephes' expf
  ;; polynomial, then 2^n applied as two factors 2^(n>>1) * 2^(n - (n>>1)) so that n in
  ;; [-150, 130] needs no special case: overflow gives inf and the subnormal range is rounded once.
  ;; @inline
  (func $exp (param $x v128) (result v128)
    (local $t v128) (local $n v128) (local $r v128) (local $y v128) (local $ni v128) (local $n1 v128)
    ;; clamp: beyond 90 the result is inf, below -104 it rounds to 0. pmin/pmax are one instruction
    ;; each (min/max's NaN handling is a sequence); with x as the first operand NaN stays NaN.
    (local.set $x (f32x4.pmax (f32x4.pmin (local.get $x) (f32x4.splat (f32.const 90)))
                              (f32x4.splat (f32.const -104))))
    ;; n = round(x / ln2) by the 1.5 * 2^23 trick: the sum's last bits are n (ties to even, as
    ;; f32x4.nearest), read back as an integer without a float-to-int conversion.
    (local.set $t (f32x4.add (f32x4.mul (local.get $x) (f32x4.splat (f32.const 1.44269504088896341)))
                             (f32x4.splat (f32.const 12582912))))
    (local.set $n (f32x4.sub (local.get $t) (f32x4.splat (f32.const 12582912))))
    (local.set $r (f32x4.sub (local.get $x) (f32x4.mul (local.get $n)
      (f32x4.splat (f32.const 0.693359375)))))
    (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $n)
      (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $y (f32x4.splat (f32.const 1.9875691500e-4)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
      (f32x4.splat (f32.const 1.3981999507e-3))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
      (f32x4.splat (f32.const 8.3334519073e-3))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
      (f32x4.splat (f32.const 4.1665795894e-2))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
      (f32x4.splat (f32.const 1.6666665459e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
      (f32x4.splat (f32.const 5.0000001201e-1))))
    ;; y = poly * r^2 + r + 1
    (local.set $y (f32x4.add (f32x4.add (f32x4.mul (local.get $y) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r))
      (f32x4.splat (f32.const 1))))
    (local.set $ni (i32x4.sub (local.get $t) (i32x4.splat (i32.const 0x4b400000)))) ;; bits of 1.5 * 2^23
    (local.set $n1 (i32x4.shr_s (local.get $ni) (i32.const 1)))
    (f32x4.mul
      (f32x4.mul (local.get $y)
        (i32x4.shl (i32x4.add (local.get $n1) (i32x4.splat (i32.const 127))) (i32.const 23)))
      (i32x4.shl (i32x4.add (i32x4.sub (local.get $ni) (local.get $n1)) (i32x4.splat (i32.const 127))) (i32.const 23))))

  ;; 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below (no overflow, relative accuracy in the tail).
  ;; @inline
  (func $sigmoid (param $x v128) (result v128)
    (local $e v128) (local $d v128)
    (local.set $e (call $exp (f32x4.neg (f32x4.abs (local.get $x)))))
    (local.set $d (f32x4.add (local.get $e) (f32x4.splat (f32.const 1))))
    (v128.bitselect
      (f32x4.div (local.get $e) (local.get $d))
      (f32x4.div (f32x4.splat (f32.const 1)) (local.get $d))
      (f32x4.lt (local.get $x) (f32x4.splat (f32.const 0)))))

  ;; tanh: Cephes' tanhf, x + x^3 P(x^2) for |x| < 0.625, else sign(x) (1 - 2 / (e^2|x| + 1)).
  ;; @inline
  (func $tanh (param $x v128) (result v128)
    (local $a v128) (local $z v128) (local $p v128) (local $e v128) (local $big v128)
    (local.set $a (f32x4.abs (local.get $x)))
    (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $p (f32x4.splat (f32.const -5.70498872745e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
      (f32x4.splat (f32.const 2.06390887954e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
      (f32x4.splat (f32.const -5.37397155531e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
      (f32x4.splat (f32.const 1.33314422036e-1))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
      (f32x4.splat (f32.const -3.33332819422e-1))))
    (local.set $p (f32x4.add (local.get $x) (f32x4.mul (f32x4.mul (local.get $x) (local.get $z)) (local.get $p))))
    (local.set $e (call $exp (f32x4.add (local.get $a) (local.get $a))))
    (local.set $big (f32x4.sub (f32x4.splat (f32.const 1))
      (f32x4.div (f32x4.splat (f32.const 2)) (f32x4.add (local.get $e) (f32x4.splat (f32.const 1))))))
    ;; x's sign onto the result: the large-|x| branch is computed for |x|, and tanh(-0) is -0
    (v128.or
      (v128.bitselect (local.get $p) (local.get $big) (f32x4.lt (local.get $a) (f32x4.splat (f32.const 0.625))))
      (v128.and (local.get $x) (i32x4.splat (i32.const 0x80000000)))))

  ;; erf: odd/even rational approximation on [-4, 4] (beyond, +-1 in float32), as Eigen's and XLA's
  ;; float erf (within 1.1 ulp of erf in exact arithmetic). Evaluated in float64, two lanes at a
  ;; time: in float32 the alternating terms near |x| = 4 cancel and cost up to 7 ulp.
  ;; @inline
  (func $erf64 (param $x v128) (result v128)
    (local $z v128) (local $p v128) (local $q v128)
    (local.set $x (f64x2.max (f64x2.min (local.get $x) (f64x2.splat (f64.const 4))) (f64x2.splat (f64.const -4))))
    (local.set $z (f64x2.mul (local.get $x) (local.get $x)))
    (local.set $p (f64x2.splat (f64.const -2.72614225801306e-10)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $z)) (f64x2.splat (f64.const 2.77068142495902e-08))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $z)) (f64x2.splat (f64.const -2.10102402082508e-06))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $z)) (f64x2.splat (f64.const -5.69250639462346e-05))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $z)) (f64x2.splat (f64.const -0.000734990630326855))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $z)) (f64x2.splat (f64.const -0.00295459980854025))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $z)) (f64x2.splat (f64.const -0.0160960333262415))))
    (local.set $q (f64x2.splat (f64.const -1.45660718464996e-05)))
    (local.set $q (f64x2.add (f64x2.mul (local.get $q) (local.get $z)) (f64x2.splat (f64.const -0.000213374055278905))))
    (local.set $q (f64x2.add (f64x2.mul (local.get $q) (local.get $z)) (f64x2.splat (f64.const -0.00168282697438203))))
    (local.set $q (f64x2.add (f64x2.mul (local.get $q) (local.get $z)) (f64x2.splat (f64.const -0.00737332916720468))))
    (local.set $q (f64x2.add (f64x2.mul (local.get $q) (local.get $z)) (f64x2.splat (f64.const -0.0142647390514189))))
    (f64x2.mul (local.get $x) (f64x2.div (local.get $p) (local.get $q))))

  ;; @inline
  (func $erf (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $erf64 (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $erf64 (f64x2.promote_low_f32x4
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x)))))))

  ;; The maps: in place over ceil(n / 4) vectors from byte offset $p.
  (func (export "exp_f32") (param $p i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (v128.store (local.get $p) (call $exp (v128.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $next))))

  (func (export "sigmoid_f32") (param $p i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (v128.store (local.get $p) (call $sigmoid (v128.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $next))))

  (func (export "tanh_f32") (param $p i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (v128.store (local.get $p) (call $tanh (v128.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $next))))

  (func (export "erf_f32") (param $p i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (v128.store (local.get $p) (call $erf (v128.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $next))))

  ;; softmax's exp pass: e^(x - shift) in place over n elements (the padding lanes hold -inf, so
  ;; they add 0); returns the sum, accumulated in float64 pairs for float32-exact sums of long rows.
  (func (export "exp_shift_sum_f32") (param $p i32) (param $n i32) (param $shift f32) (result f64)
    (local $end i32) (local $s v128) (local $e v128) (local $acc0 v128) (local $acc1 v128)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $s (f32x4.splat (local.get $shift)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $e (call $exp (f32x4.sub (v128.load (local.get $p)) (local.get $s))))
      (v128.store (local.get $p) (local.get $e))
      (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.promote_low_f32x4 (local.get $e))))
      (local.set $acc1 (f64x2.add (local.get $acc1)
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e)))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $next)))
    (local.set $acc0 (f64x2.add (local.get $acc0) (local.get $acc1)))
    (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0))))

  ;; softmax (log = 0) or logSoftmax (log = 1) of `rows` rows, in place: row r starts at byte
  ;; $p + r * 4 * $ld and holds $n values, then -inf up to a multiple of 8 (ld >= that). Per row one
  ;; pass for the max, one for e^(x - max) and its float64 sum, one for the result: the same
  ;; arithmetic as the scalar kernel (softmax scales by the float32 reciprocal of the sum;
  ;; logSoftmax computes x - max - log(sum) in float64 and rounds once). Two vectors per iteration
  ;; (two max chains; half the loop overhead, which V8 gives a stack check per iteration).
  (func (export "softmax_rows_f32") (param $p i32) (param $rows i32) (param $ld i32) (param $n i32) (param $log i32)
    (local $q i32) (local $end i32) (local $m v128) (local $nan v128) (local $mx f32) (local $s v128)
    (local $e v128) (local $acc0 v128) (local $acc1 v128) (local $sum f64) (local $sh f64) (local $shv v128)
    (local $lo v128) (local $hi v128) (local $e2 v128) (local $m2 v128)
    (block $rows_done (loop $row
      (br_if $rows_done (i32.eqz (local.get $rows)))
      (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8)) (i32.const 2))))
      ;; max: pmax is one instruction (max's NaN handling is a sequence); NaNs are tracked apart.
      (local.set $m (f32x4.splat (f32.const -inf)))
      (local.set $m2 (local.get $m))
      (local.set $nan (v128.const i32x4 0 0 0 0))
      (local.set $q (local.get $p))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
        (local.set $e (v128.load (local.get $q)))
        (local.set $e2 (v128.load offset=16 (local.get $q)))
        (local.set $m (f32x4.pmax (local.get $m) (local.get $e)))
        (local.set $m2 (f32x4.pmax (local.get $m2) (local.get $e2)))
        (local.set $nan (v128.or (local.get $nan) (v128.or (f32x4.ne (local.get $e) (local.get $e)) (f32x4.ne (local.get $e2) (local.get $e2)))))
        (local.set $q (i32.add (local.get $q) (i32.const 32)))
        (br $next)))
      (local.set $m (f32x4.pmax (local.get $m) (local.get $m2)))
      (local.set $mx (f32.max (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
                              (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
      (if (v128.any_true (local.get $nan)) (then (local.set $mx (f32.const nan))))
      ;; e^(x - max), summed in float64 pairs; stored only for softmax.
      (local.set $s (f32x4.splat (local.get $mx)))
      (local.set $acc0 (v128.const i32x4 0 0 0 0))
      (local.set $acc1 (v128.const i32x4 0 0 0 0))
      (local.set $q (local.get $p))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
        (local.set $e (call $exp (f32x4.sub (v128.load (local.get $q)) (local.get $s))))
        (local.set $e2 (call $exp (f32x4.sub (v128.load offset=16 (local.get $q)) (local.get $s))))
        (if (i32.eqz (local.get $log)) (then (v128.store (local.get $q) (local.get $e)) (v128.store offset=16 (local.get $q) (local.get $e2))))
        (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.promote_low_f32x4 (local.get $e))))
        (local.set $acc1 (f64x2.add (local.get $acc1)
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e)))))
        (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.promote_low_f32x4 (local.get $e2))))
        (local.set $acc1 (f64x2.add (local.get $acc1)
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e2) (local.get $e2)))))
        (local.set $q (i32.add (local.get $q) (i32.const 32)))
        (br $next)))
      (local.set $acc0 (f64x2.add (local.get $acc0) (local.get $acc1)))
      (local.set $sum (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0))))
      (local.set $q (local.get $p))
      (if (i32.eqz (local.get $log))
        (then
          (local.set $s (f32x4.splat (f32.demote_f64 (f64.div (f64.const 1) (local.get $sum)))))
          (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
            (v128.store (local.get $q) (f32x4.mul (v128.load (local.get $q)) (local.get $s)))
            (v128.store offset=16 (local.get $q) (f32x4.mul (v128.load offset=16 (local.get $q)) (local.get $s)))
            (local.set $q (i32.add (local.get $q) (i32.const 32)))
            (br $next))))
        (else
          (local.set $sh (call $log (local.get $sum)))
          (local.set $shv (f64x2.splat (local.get $sh)))
          (local.set $s (f64x2.splat (f64.promote_f32 (local.get $mx))))
          (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $e (v128.load (local.get $q)))
            (local.set $lo (f64x2.sub (f64x2.sub (f64x2.promote_low_f32x4 (local.get $e)) (local.get $s)) (local.get $shv)))
            (local.set $hi (f64x2.sub (f64x2.sub (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e))) (local.get $s)) (local.get $shv)))
            (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $next)))))
      (local.set $p (i32.add (local.get $p) (i32.shl (local.get $ld) (i32.const 2))))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $row))))

  ;; One LSTM cell step over $rows rows (torch's fused LSTM cell): gates = gx + gh (+ b when $b is
  ;; not 0), i = sigmoid, f = sigmoid, g = tanh, o = sigmoid of the four gate blocks, c' = f c + i g,
  ;; h' = o tanh(c'), in float32 in the composed ops' order (the same roundings). Row r of gx and gh
  ;; holds the blocks i, f, g, o of $hp floats each (a multiple of 4), b one such row, c, h', c'
  ;; rows of $hp; with $ws not 0 the backward's workspace, rows of i, f, g, o, tanh(c').
  (func (export "lstm_cell_f32") (param $gx i32) (param $gh i32) (param $b i32) (param $c i32)
    (param $h2 i32) (param $c2 i32) (param $ws i32) (param $rows i32) (param $hp i32)
    (local $j i32) (local $hb i32) (local $bj i32) (local $vi v128) (local $vf v128) (local $vg v128) (local $vo v128)
    (local $vc v128) (local $tc v128)
    (local.set $hb (i32.shl (local.get $hp) (i32.const 2)))
    (block $rows_done (loop $row
      (br_if $rows_done (i32.eqz (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $j) (local.get $hb)))
        (local.set $vi (f32x4.add (v128.load (i32.add (local.get $gx) (local.get $j))) (v128.load (i32.add (local.get $gh) (local.get $j)))))
        (local.set $vf (f32x4.add (v128.load (i32.add (local.get $gx) (i32.add (local.get $j) (local.get $hb))))
                                  (v128.load (i32.add (local.get $gh) (i32.add (local.get $j) (local.get $hb))))))
        (local.set $bj (i32.add (local.get $j) (i32.shl (local.get $hb) (i32.const 1))))
        (local.set $vg (f32x4.add (v128.load (i32.add (local.get $gx) (local.get $bj))) (v128.load (i32.add (local.get $gh) (local.get $bj)))))
        (local.set $bj (i32.add (local.get $bj) (local.get $hb)))
        (local.set $vo (f32x4.add (v128.load (i32.add (local.get $gx) (local.get $bj))) (v128.load (i32.add (local.get $gh) (local.get $bj)))))
        (if (local.get $b) (then
          (local.set $vi (f32x4.add (local.get $vi) (v128.load (i32.add (local.get $b) (local.get $j)))))
          (local.set $vf (f32x4.add (local.get $vf) (v128.load (i32.add (local.get $b) (i32.add (local.get $j) (local.get $hb))))))
          (local.set $vg (f32x4.add (local.get $vg) (v128.load (i32.add (local.get $b) (i32.add (local.get $j) (i32.shl (local.get $hb) (i32.const 1)))))))
          (local.set $vo (f32x4.add (local.get $vo) (v128.load (i32.add (local.get $b) (local.get $bj)))))))
        (local.set $vi (call $sigmoid (local.get $vi)))
        (local.set $vf (call $sigmoid (local.get $vf)))
        (local.set $vg (call $tanh (local.get $vg)))
        (local.set $vo (call $sigmoid (local.get $vo)))
        (local.set $vc (f32x4.add (f32x4.mul (local.get $vf) (v128.load (i32.add (local.get $c) (local.get $j))))
                                  (f32x4.mul (local.get $vi) (local.get $vg))))
        (local.set $tc (call $tanh (local.get $vc)))
        (v128.store (i32.add (local.get $c2) (local.get $j)) (local.get $vc))
        (v128.store (i32.add (local.get $h2) (local.get $j)) (f32x4.mul (local.get $vo) (local.get $tc)))
        (if (local.get $ws) (then
          (v128.store (i32.add (local.get $ws) (local.get $j)) (local.get $vi))
          (v128.store (i32.add (local.get $ws) (i32.add (local.get $j) (local.get $hb))) (local.get $vf))
          (v128.store (i32.add (local.get $ws) (i32.add (local.get $j) (i32.shl (local.get $hb) (i32.const 1)))) (local.get $vg))
          (v128.store (i32.add (local.get $ws) (local.get $bj)) (local.get $vo))
          (v128.store (i32.add (local.get $ws) (i32.add (local.get $j) (i32.shl (local.get $hb) (i32.const 2)))) (local.get $tc))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $next)))
      (local.set $gx (i32.add (local.get $gx) (i32.shl (local.get $hb) (i32.const 2))))
      (local.set $gh (i32.add (local.get $gh) (i32.shl (local.get $hb) (i32.const 2))))
      (local.set $c (i32.add (local.get $c) (local.get $hb)))
      (local.set $h2 (i32.add (local.get $h2) (local.get $hb)))
      (local.set $c2 (i32.add (local.get $c2) (local.get $hb)))
      (if (local.get $ws) (then (local.set $ws (i32.add (local.get $ws) (i32.mul (local.get $hb) (i32.const 5))))))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $row))))

  ;; One GRU cell step over $rows rows (torch's fused GRU cell): with gh' = gh (+ b when $b is not
  ;; 0), r = sigmoid(gx_r + gh'_r), z = sigmoid(gx_z + gh'_z), n = tanh(gx_n + r gh'_n),
  ;; h' = n + z (h - n), in the composed ops' order. Rows of gx, gh hold the blocks r, z, n of $hp
  ;; floats; h, h' rows of $hp; with $ws not 0 the workspace rows r, z, n, gh'_n.
  (func (export "gru_cell_f32") (param $gx i32) (param $gh i32) (param $b i32) (param $h i32)
    (param $h2 i32) (param $ws i32) (param $rows i32) (param $hp i32)
    (local $j i32) (local $hb i32) (local $j2 i32) (local $vr v128) (local $vz v128) (local $vn v128) (local $hn v128)
    (local $hr v128) (local $hz v128) (local $vh v128)
    (local.set $hb (i32.shl (local.get $hp) (i32.const 2)))
    (block $rows_done (loop $row
      (br_if $rows_done (i32.eqz (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $j) (local.get $hb)))
        (local.set $j2 (i32.add (local.get $j) (i32.shl (local.get $hb) (i32.const 1))))
        (local.set $hr (v128.load (i32.add (local.get $gh) (local.get $j))))
        (local.set $hz (v128.load (i32.add (local.get $gh) (i32.add (local.get $j) (local.get $hb)))))
        (local.set $hn (v128.load (i32.add (local.get $gh) (local.get $j2))))
        (if (local.get $b) (then
          (local.set $hr (f32x4.add (local.get $hr) (v128.load (i32.add (local.get $b) (local.get $j)))))
          (local.set $hz (f32x4.add (local.get $hz) (v128.load (i32.add (local.get $b) (i32.add (local.get $j) (local.get $hb))))))
          (local.set $hn (f32x4.add (local.get $hn) (v128.load (i32.add (local.get $b) (local.get $j2)))))))
        (local.set $vr (call $sigmoid (f32x4.add (v128.load (i32.add (local.get $gx) (local.get $j))) (local.get $hr))))
        (local.set $vz (call $sigmoid (f32x4.add (v128.load (i32.add (local.get $gx) (i32.add (local.get $j) (local.get $hb)))) (local.get $hz))))
        (local.set $vn (call $tanh (f32x4.add (v128.load (i32.add (local.get $gx) (local.get $j2))) (f32x4.mul (local.get $vr) (local.get $hn)))))
        (local.set $vh (v128.load (i32.add (local.get $h) (local.get $j))))
        (v128.store (i32.add (local.get $h2) (local.get $j))
          (f32x4.add (local.get $vn) (f32x4.mul (local.get $vz) (f32x4.sub (local.get $vh) (local.get $vn)))))
        (if (local.get $ws) (then
          (v128.store (i32.add (local.get $ws) (local.get $j)) (local.get $vr))
          (v128.store (i32.add (local.get $ws) (i32.add (local.get $j) (local.get $hb))) (local.get $vz))
          (v128.store (i32.add (local.get $ws) (local.get $j2)) (local.get $vn))
          (v128.store (i32.add (local.get $ws) (i32.add (local.get $j2) (local.get $hb))) (local.get $hn))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $next)))
      (local.set $gx (i32.add (local.get $gx) (i32.mul (local.get $hb) (i32.const 3))))
      (local.set $gh (i32.add (local.get $gh) (i32.mul (local.get $hb) (i32.const 3))))
      (local.set $h (i32.add (local.get $h) (local.get $hb)))
      (local.set $h2 (i32.add (local.get $h2) (local.get $hb)))
      (if (local.get $ws) (then (local.set $ws (i32.add (local.get $ws) (i32.shl (local.get $hb) (i32.const 2))))))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $row))))
)
