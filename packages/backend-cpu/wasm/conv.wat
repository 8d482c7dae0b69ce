;; Packing and copying for the CPU backend's implicit-GEMM convolution (src/fused/conv-gemm.ts), in
;; WebAssembly SIMD: the forward and weight-gradient panels, padding an image into its canvas and
;; back, the bias, and the input gradient's scatter (col2im). Every function works on memory the
;; caller laid out, so a worker thread can run it from a job's command list (src/threads/). Assembled by tooling/build-wasm.mjs into src/conv-wasm.ts. It shares the gemm module's
;; memory (imported; shared under the thread pool, as gemm.wat), so the panels it writes are read there by gemm_f32 without a copy.
(module
  (import "gemm" "memory" (memory 1 65536))

  ;; B panels of the convolution's window matrix, straight from a zero-padded image (the canvas):
  ;; for each of $np panels of 8 output pixels and each k < $kc, the 8 floats
  ;; canvas[taps[k] + corners[p + t]], t < 8, k-major (gemm.wat's B layout). taps and corners are
  ;; byte offsets (i32); $corners points at the first panel's 8 corners. Pixels that are 8
  ;; neighbours in the canvas (stride 1, one output row) are two vector loads per k.
  (func (export "pack_b") (param $bp i32) (param $canvas i32) (param $taps i32) (param $kc i32) (param $corners i32) (param $np i32)
    (local $k i32) (local $tp i32) (local $s i32)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32) (local $c4 i32) (local $c5 i32) (local $c6 i32) (local $c7 i32)
    (block $done (loop $panels
      (br_if $done (i32.eqz (local.get $np)))
      (local.set $c0 (i32.add (local.get $canvas) (i32.load offset=0 (local.get $corners))))
      (local.set $c7 (i32.add (local.get $canvas) (i32.load offset=28 (local.get $corners))))
      (local.set $tp (local.get $taps))
      (local.set $k (local.get $kc))
      (if (i32.eq (local.get $c7) (i32.add (local.get $c0) (i32.const 28)))
        (then
          (loop $contiguous
            (local.set $s (i32.add (local.get $c0) (i32.load (local.get $tp))))
            (v128.store offset=0 (local.get $bp) (v128.load offset=0 (local.get $s)))
            (v128.store offset=16 (local.get $bp) (v128.load offset=16 (local.get $s)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
            (local.set $tp (i32.add (local.get $tp) (i32.const 4)))
            (br_if $contiguous (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))
        (else
          (local.set $c1 (i32.add (local.get $canvas) (i32.load offset=4 (local.get $corners))))
          (local.set $c2 (i32.add (local.get $canvas) (i32.load offset=8 (local.get $corners))))
          (local.set $c3 (i32.add (local.get $canvas) (i32.load offset=12 (local.get $corners))))
          (local.set $c4 (i32.add (local.get $canvas) (i32.load offset=16 (local.get $corners))))
          (local.set $c5 (i32.add (local.get $canvas) (i32.load offset=20 (local.get $corners))))
          (local.set $c6 (i32.add (local.get $canvas) (i32.load offset=24 (local.get $corners))))
          (loop $gather
            (local.set $s (i32.load (local.get $tp)))
            (f32.store offset=0 (local.get $bp) (f32.load (i32.add (local.get $c0) (local.get $s))))
            (f32.store offset=4 (local.get $bp) (f32.load (i32.add (local.get $c1) (local.get $s))))
            (f32.store offset=8 (local.get $bp) (f32.load (i32.add (local.get $c2) (local.get $s))))
            (f32.store offset=12 (local.get $bp) (f32.load (i32.add (local.get $c3) (local.get $s))))
            (f32.store offset=16 (local.get $bp) (f32.load (i32.add (local.get $c4) (local.get $s))))
            (f32.store offset=20 (local.get $bp) (f32.load (i32.add (local.get $c5) (local.get $s))))
            (f32.store offset=24 (local.get $bp) (f32.load (i32.add (local.get $c6) (local.get $s))))
            (f32.store offset=28 (local.get $bp) (f32.load (i32.add (local.get $c7) (local.get $s))))
            (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
            (local.set $tp (i32.add (local.get $tp) (i32.const 4)))
            (br_if $gather (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
      (local.set $corners (i32.add (local.get $corners) (i32.const 32)))
      (local.set $np (i32.sub (local.get $np) (i32.const 1)))
      (br $panels))))

  ;; B panels for the weight gradient (window matrix transposed): for each of $np panels of 8 taps
  ;; ($taps: their 8 byte offsets) and each of $kc output pixels ($corners), the 8 floats
  ;; canvas[corners[p] + taps[t]], t < 8, pixel-major.
  (func (export "pack_bt") (param $bp i32) (param $canvas i32) (param $taps i32) (param $np i32) (param $corners i32) (param $kc i32)
    (local $k i32) (local $cp i32) (local $s i32)
    (local $t0 i32) (local $t1 i32) (local $t2 i32) (local $t3 i32) (local $t4 i32) (local $t5 i32) (local $t6 i32) (local $t7 i32)
    (block $done (loop $panels
      (br_if $done (i32.eqz (local.get $np)))
      (local.set $t0 (i32.add (local.get $canvas) (i32.load offset=0 (local.get $taps))))
      (local.set $t1 (i32.add (local.get $canvas) (i32.load offset=4 (local.get $taps))))
      (local.set $t2 (i32.add (local.get $canvas) (i32.load offset=8 (local.get $taps))))
      (local.set $t3 (i32.add (local.get $canvas) (i32.load offset=12 (local.get $taps))))
      (local.set $t4 (i32.add (local.get $canvas) (i32.load offset=16 (local.get $taps))))
      (local.set $t5 (i32.add (local.get $canvas) (i32.load offset=20 (local.get $taps))))
      (local.set $t6 (i32.add (local.get $canvas) (i32.load offset=24 (local.get $taps))))
      (local.set $t7 (i32.add (local.get $canvas) (i32.load offset=28 (local.get $taps))))
      (local.set $cp (local.get $corners))
      (local.set $k (local.get $kc))
      (loop $pixels
        (local.set $s (i32.load (local.get $cp)))
        (f32.store offset=0 (local.get $bp) (f32.load (i32.add (local.get $t0) (local.get $s))))
        (f32.store offset=4 (local.get $bp) (f32.load (i32.add (local.get $t1) (local.get $s))))
        (f32.store offset=8 (local.get $bp) (f32.load (i32.add (local.get $t2) (local.get $s))))
        (f32.store offset=12 (local.get $bp) (f32.load (i32.add (local.get $t3) (local.get $s))))
        (f32.store offset=16 (local.get $bp) (f32.load (i32.add (local.get $t4) (local.get $s))))
        (f32.store offset=20 (local.get $bp) (f32.load (i32.add (local.get $t5) (local.get $s))))
        (f32.store offset=24 (local.get $bp) (f32.load (i32.add (local.get $t6) (local.get $s))))
        (f32.store offset=28 (local.get $bp) (f32.load (i32.add (local.get $t7) (local.get $s))))
        (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
        (local.set $cp (i32.add (local.get $cp) (i32.const 4)))
        (br_if $pixels (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
      (local.set $taps (i32.add (local.get $taps) (i32.const 32)))
      (local.set $np (i32.sub (local.get $np) (i32.const 1)))
      (br $panels))))
;; Zeroes $n bytes at $p ($n a multiple of 4).
  (func $zero (export "zero") (param $p i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $vdone (loop $v
      (br_if $vdone (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
      (v128.store (local.get $p) (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $v)))
    (block $sdone (loop $s
      (br_if $sdone (i32.ge_u (local.get $p) (local.get $end)))
      (i32.store (local.get $p) (i32.const 0))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $s))))

  ;; Copies $n floats from $src to $dst (bit for bit: integer loads and stores).
  (func $copy (param $dst i32) (param $src i32) (param $n i32)
    (block $vdone (loop $v
      (br_if $vdone (i32.lt_u (local.get $n) (i32.const 4)))
      (v128.store (local.get $dst) (v128.load (local.get $src)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $n (i32.sub (local.get $n) (i32.const 4)))
      (br $v)))
    (block $sdone (loop $s
      (br_if $sdone (i32.eqz (local.get $n)))
      (i32.store (local.get $dst) (i32.load (local.get $src)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $s))))

  ;; The zero-padded canvas (C planes of ch x cw floats) of the image at $src (C planes of H x W,
  ;; contiguous). $geom: i32 [C, H, W, ch, cw, pt, pl]; canvas row r, column q is image row r - pt,
  ;; column q - pl where that exists (pt, pl >= 0), else 0.
  (func (export "pad_image") (param $canvas i32) (param $src i32) (param $geom i32)
    (local $C i32) (local $H i32) (local $W i32) (local $ch i32) (local $cw i32) (local $pt i32) (local $pl i32)
    (local $r1 i32) (local $n i32) (local $c i32) (local $r i32) (local $d i32) (local $s i32)
    (local.set $C (i32.load offset=0 (local.get $geom)))
    (local.set $H (i32.load offset=4 (local.get $geom)))
    (local.set $W (i32.load offset=8 (local.get $geom)))
    (local.set $ch (i32.load offset=12 (local.get $geom)))
    (local.set $cw (i32.load offset=16 (local.get $geom)))
    (local.set $pt (i32.load offset=20 (local.get $geom)))
    (local.set $pl (i32.load offset=24 (local.get $geom)))
    (call $zero (local.get $canvas) (i32.shl (i32.mul (local.get $C) (i32.mul (local.get $ch) (local.get $cw))) (i32.const 2)))
    ;; rows [pt, min(ch, H + pt)), columns [pl, pl + n), n = min(cw - pl, W)
    (local.set $r1 (i32.add (local.get $H) (local.get $pt)))
    (if (i32.gt_s (local.get $r1) (local.get $ch)) (then (local.set $r1 (local.get $ch))))
    (local.set $n (i32.sub (local.get $cw) (local.get $pl)))
    (if (i32.gt_s (local.get $n) (local.get $W)) (then (local.set $n (local.get $W))))
    (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
    (if (i32.le_s (local.get $r1) (local.get $pt)) (then (return)))
    (local.set $c (i32.const 0))
    (loop $planes
      (local.set $r (local.get $pt))
      ;; d = canvas + 4 * (c * ch * cw + r * cw + pl), s = src + 4 * (c * H * W)
      (local.set $d (i32.add (local.get $canvas) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $c) (local.get $ch)) (local.get $r)) (local.get $cw)) (local.get $pl)) (i32.const 2))))
      (local.set $s (i32.add (local.get $src) (i32.shl (i32.mul (local.get $c) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
      (loop $rows
        (call $copy (local.get $d) (local.get $s) (local.get $n))
        (local.set $d (i32.add (local.get $d) (i32.shl (local.get $cw) (i32.const 2))))
        (local.set $s (i32.add (local.get $s) (i32.shl (local.get $W) (i32.const 2))))
        (br_if $rows (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $r1))))
      (br_if $planes (i32.lt_s (local.tee $c (i32.add (local.get $c) (i32.const 1))) (local.get $C)))))

  ;; The inverse: the image (C planes of H x W at $dst) from the canvas's interior; image rows and
  ;; columns beyond the canvas get 0. $geom as pad_image.
  (func (export "unpad_image") (param $dst i32) (param $canvas i32) (param $geom i32)
    (local $C i32) (local $H i32) (local $W i32) (local $ch i32) (local $cw i32) (local $pt i32) (local $pl i32)
    (local $n i32) (local $c i32) (local $r i32) (local $s i32)
    (local.set $C (i32.load offset=0 (local.get $geom)))
    (local.set $H (i32.load offset=4 (local.get $geom)))
    (local.set $W (i32.load offset=8 (local.get $geom)))
    (local.set $ch (i32.load offset=12 (local.get $geom)))
    (local.set $cw (i32.load offset=16 (local.get $geom)))
    (local.set $pt (i32.load offset=20 (local.get $geom)))
    (local.set $pl (i32.load offset=24 (local.get $geom)))
    (if (i32.or (i32.eqz (local.get $H)) (i32.eqz (local.get $W))) (then (return)))
    (local.set $n (i32.sub (local.get $cw) (local.get $pl)))
    (if (i32.gt_s (local.get $n) (local.get $W)) (then (local.set $n (local.get $W))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (local.set $n (i32.const 0))))
    (local.set $c (i32.const 0))
    (block $done (loop $planes
      (br_if $done (i32.ge_s (local.get $c) (local.get $C)))
      (local.set $r (i32.const 0))
      (loop $rows
        (if (i32.lt_s (i32.add (local.get $r) (local.get $pt)) (local.get $ch))
          (then
            (local.set $s (i32.add (local.get $canvas) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $c) (local.get $ch)) (i32.add (local.get $r) (local.get $pt))) (local.get $cw)) (local.get $pl)) (i32.const 2))))
            (call $copy (local.get $dst) (local.get $s) (local.get $n))
            (call $zero (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))) (i32.shl (i32.sub (local.get $W) (local.get $n)) (i32.const 2))))
          (else (call $zero (local.get $dst) (i32.shl (local.get $W) (i32.const 2)))))
        (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $W) (i32.const 2))))
        (br_if $rows (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $H))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $planes))))

  ;; Row i < $rows of C (row stride $ldc bytes) += bias[i] over its first $n floats ($n a multiple of 4).
  ;; f32x4.add rounds as JavaScript's float32 store of the float64 sum would.
  (func (export "add_bias") (param $c i32) (param $bias i32) (param $rows i32) (param $n i32) (param $ldc i32)
    (local $b v128) (local $p i32) (local $end i32)
    (block $done (loop $row
      (br_if $done (i32.le_s (local.get $rows) (i32.const 0)))
      (local.set $b (v128.load32_splat (local.get $bias)))
      (local.set $p (local.get $c))
      (local.set $end (i32.add (local.get $c) (i32.shl (local.get $n) (i32.const 2))))
      (block $rdone (loop $cols
        (br_if $rdone (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p)) (local.get $b)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $cols)))
      (local.set $c (i32.add (local.get $c) (local.get $ldc)))
      (local.set $bias (i32.add (local.get $bias) (i32.const 4)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $row))))

  ;; A panels (gemm.wat's layout: 4 rows, k-major) of $mp panels from a row-major matrix at $src
  ;; (row stride $ld bytes): dst[panel][k][r] = src[4 * panel + r][k], k < $kc.
  (func (export "pack_a") (param $dst i32) (param $src i32) (param $ld i32) (param $kc i32) (param $mp i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32) (local $k i32)
    (block $done (loop $panels
      (br_if $done (i32.le_s (local.get $mp) (i32.const 0)))
      (local.set $s0 (local.get $src))
      (local.set $s1 (i32.add (local.get $s0) (local.get $ld)))
      (local.set $s2 (i32.add (local.get $s1) (local.get $ld)))
      (local.set $s3 (i32.add (local.get $s2) (local.get $ld)))
      (local.set $k (local.get $kc))
      (block $kdone (loop $ks
        (br_if $kdone (i32.le_s (local.get $k) (i32.const 0)))
        (i32.store offset=0 (local.get $dst) (i32.load (local.get $s0)))
        (i32.store offset=4 (local.get $dst) (i32.load (local.get $s1)))
        (i32.store offset=8 (local.get $dst) (i32.load (local.get $s2)))
        (i32.store offset=12 (local.get $dst) (i32.load (local.get $s3)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $s0 (i32.add (local.get $s0) (i32.const 4)))
        (local.set $s1 (i32.add (local.get $s1) (i32.const 4)))
        (local.set $s2 (i32.add (local.get $s2) (i32.const 4)))
        (local.set $s3 (i32.add (local.get $s3) (i32.const 4)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $ks)))
      (local.set $src (i32.add (local.get $src) (i32.shl (local.get $ld) (i32.const 2))))
      (local.set $mp (i32.sub (local.get $mp) (i32.const 1)))
      (br $panels))))

  ;; col2im for one block: for each tap k < $K and pixel j < $m, canvas[taps[k] + corners[j]] +=
  ;; C[k][j] (C's row stride $ldc bytes; taps, corners: byte offsets), k-major as the JS loop was.
  (func (export "scatter_add") (param $canvas i32) (param $c i32) (param $taps i32) (param $corners i32) (param $K i32) (param $m i32) (param $ldc i32)
    (local $s i32) (local $src i32) (local $j i32) (local $q i32)
    (block $done (loop $taps_loop
      (br_if $done (i32.le_s (local.get $K) (i32.const 0)))
      (local.set $s (i32.add (local.get $canvas) (i32.load (local.get $taps))))
      (local.set $src (local.get $c))
      (local.set $j (i32.const 0))
      (block $jdone (loop $pixels
        (br_if $jdone (i32.ge_s (local.get $j) (local.get $m)))
        (local.set $q (i32.add (local.get $s) (i32.load (i32.add (local.get $corners) (i32.shl (local.get $j) (i32.const 2))))))
        (f32.store (local.get $q) (f32.add (f32.load (local.get $q)) (f32.load (local.get $src))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $pixels)))
      (local.set $c (i32.add (local.get $c) (local.get $ldc)))
      (local.set $taps (i32.add (local.get $taps) (i32.const 4)))
      (local.set $K (i32.sub (local.get $K) (i32.const 1)))
      (br $taps_loop))))
)
