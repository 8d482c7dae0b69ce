;; GEMM micro-kernels for the CPU backend, in WebAssembly SIMD (128-bit).
;;
;; Assembled by tooling/build-wasm.mjs into packages/backend-cpu/src/gemm-wasm.ts; matmul.ts packs
;; the operands into this module's memory and calls one kernel per (k-block, row-block).
;;
;; Both kernels compute  C[mp*MR, np*NR] += Ap · Bp  for one block, where
;;   Ap holds mp panels of MR rows of A, each panel k-major: panel[k][0..MR)   (kc*MR elements)
;;   Bp holds np panels of NR columns of B, each panel k-major: panel[k][0..NR) (kc*NR elements)
;;   C is row-major with a row stride of ldc bytes; every tile is MR x NR.
;; Panels are zero-padded by the packer, so there are no edge cases here. kc must be >= 1.
;;
;; Loop order: the B panel (kc*NR, a few KiB) stays in L1 while every A panel of the block
;; (in L2) streams past it. The MR x NR tile of C lives in 8 v128 registers for the whole k loop:
;; per k, NR/lanes vector loads of B, MR splat loads of A, and MR*NR/lanes mul+add pairs.
;; (No fused multiply-add: relaxed SIMD is not available everywhere yet.)
;;
;; $first != 0: the block is the first of its sum, so C's old contents are ignored (read as +0:
;; the stored values are exactly those of a zero-filled C). Saves zero-filling C, and lets C be
;; uninitialised memory.
;;
;; The memory is imported: a private one for one thread; the thread pool (src/threads/) patches
;; the import to a shared memory (the limits byte below: 1 = min+max, 3 = min+max+shared) and
;; runs this module in every worker over the same memory.
(module
  (import "gemm" "memory" (memory 1 65536))

  ;; float32: MR = 4 rows, NR = 8 columns (2 x f32x4 per row); accumulates in float32.
  (func (export "gemm_f32")
    (param $ap i32) (param $bp i32) (param $c i32) (param $mp i32) (param $np i32) (param $kc i32) (param $ldc i32) (param $first i32)
    (local $keep v128) (local $jr i32) (local $ir i32) (local $k i32) (local $pa i32) (local $pb i32) (local $pc i32)
    (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $keep (i32x4.splat (i32.sub (i32.const 0) (i32.eqz (local.get $first)))))
    (loop $columns
      (local.set $ir (i32.const 0))
      (loop $rows
        ;; pa = ap + ir * kc * 16 (4 floats per k), pb = bp + jr * kc * 32 (8 floats per k)
        (local.set $pa (i32.add (local.get $ap) (i32.mul (local.get $ir) (i32.shl (local.get $kc) (i32.const 4)))))
        (local.set $pb (i32.add (local.get $bp) (i32.mul (local.get $jr) (i32.shl (local.get $kc) (i32.const 5)))))
        (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
        (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
        (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
        (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
        (local.set $k (local.get $kc))
        (loop $inner
          (local.set $b0 (v128.load offset=0 (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          (local.set $a (v128.load32_splat offset=0 (local.get $pa)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
          (br_if $inner (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
        ;; C tile at c + (ir * 4) * ldc + jr * 32 bytes: add the accumulators row by row.
        (local.set $pc (i32.add (local.get $c)
          (i32.add (i32.mul (local.get $ir) (i32.shl (local.get $ldc) (i32.const 2))) (i32.shl (local.get $jr) (i32.const 5)))))
        (v128.store offset=0 (local.get $pc) (f32x4.add (v128.and (v128.load offset=0 (local.get $pc)) (local.get $keep)) (local.get $c00)))
        (v128.store offset=16 (local.get $pc) (f32x4.add (v128.and (v128.load offset=16 (local.get $pc)) (local.get $keep)) (local.get $c01)))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
        (v128.store offset=0 (local.get $pc) (f32x4.add (v128.and (v128.load offset=0 (local.get $pc)) (local.get $keep)) (local.get $c10)))
        (v128.store offset=16 (local.get $pc) (f32x4.add (v128.and (v128.load offset=16 (local.get $pc)) (local.get $keep)) (local.get $c11)))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
        (v128.store offset=0 (local.get $pc) (f32x4.add (v128.and (v128.load offset=0 (local.get $pc)) (local.get $keep)) (local.get $c20)))
        (v128.store offset=16 (local.get $pc) (f32x4.add (v128.and (v128.load offset=16 (local.get $pc)) (local.get $keep)) (local.get $c21)))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
        (v128.store offset=0 (local.get $pc) (f32x4.add (v128.and (v128.load offset=0 (local.get $pc)) (local.get $keep)) (local.get $c30)))
        (v128.store offset=16 (local.get $pc) (f32x4.add (v128.and (v128.load offset=16 (local.get $pc)) (local.get $keep)) (local.get $c31)))
        (br_if $rows (i32.lt_u (local.tee $ir (i32.add (local.get $ir) (i32.const 1))) (local.get $mp))))
      (br_if $columns (i32.lt_u (local.tee $jr (i32.add (local.get $jr) (i32.const 1))) (local.get $np)))))

  ;; float64: MR = 4 rows, NR = 4 columns (2 x f64x2 per row); accumulates in float64.
  (func (export "gemm_f64")
    (param $ap i32) (param $bp i32) (param $c i32) (param $mp i32) (param $np i32) (param $kc i32) (param $ldc i32) (param $first i32)
    (local $keep v128) (local $jr i32) (local $ir i32) (local $k i32) (local $pa i32) (local $pb i32) (local $pc i32)
    (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $keep (i32x4.splat (i32.sub (i32.eqz (local.get $first)) (i32.const 0))))
    (local.set $keep (i32x4.splat (i32.sub (i32.const 0) (i32.eqz (local.get $first)))))
    (loop $columns
      (local.set $ir (i32.const 0))
      (loop $rows
        ;; pa = ap + ir * kc * 32 (4 doubles per k), pb = bp + jr * kc * 32 (4 doubles per k)
        (local.set $pa (i32.add (local.get $ap) (i32.mul (local.get $ir) (i32.shl (local.get $kc) (i32.const 5)))))
        (local.set $pb (i32.add (local.get $bp) (i32.mul (local.get $jr) (i32.shl (local.get $kc) (i32.const 5)))))
        (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
        (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
        (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
        (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
        (local.set $k (local.get $kc))
        (loop $inner
          (local.set $b0 (v128.load offset=0 (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          (local.set $a (v128.load64_splat offset=0 (local.get $pa)))
          (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $a) (local.get $b0))))
          (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $a) (local.get $b1))))
          (local.set $a (v128.load64_splat offset=8 (local.get $pa)))
          (local.set $c10 (f64x2.add (local.get $c10) (f64x2.mul (local.get $a) (local.get $b0))))
          (local.set $c11 (f64x2.add (local.get $c11) (f64x2.mul (local.get $a) (local.get $b1))))
          (local.set $a (v128.load64_splat offset=16 (local.get $pa)))
          (local.set $c20 (f64x2.add (local.get $c20) (f64x2.mul (local.get $a) (local.get $b0))))
          (local.set $c21 (f64x2.add (local.get $c21) (f64x2.mul (local.get $a) (local.get $b1))))
          (local.set $a (v128.load64_splat offset=24 (local.get $pa)))
          (local.set $c30 (f64x2.add (local.get $c30) (f64x2.mul (local.get $a) (local.get $b0))))
          (local.set $c31 (f64x2.add (local.get $c31) (f64x2.mul (local.get $a) (local.get $b1))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 32)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
          (br_if $inner (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
        ;; C tile at c + (ir * 4) * ldc + jr * 32 bytes.
        (local.set $pc (i32.add (local.get $c)
          (i32.add (i32.mul (local.get $ir) (i32.shl (local.get $ldc) (i32.const 2))) (i32.shl (local.get $jr) (i32.const 5)))))
        (v128.store offset=0 (local.get $pc) (f64x2.add (v128.and (v128.load offset=0 (local.get $pc)) (local.get $keep)) (local.get $c00)))
        (v128.store offset=16 (local.get $pc) (f64x2.add (v128.and (v128.load offset=16 (local.get $pc)) (local.get $keep)) (local.get $c01)))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
        (v128.store offset=0 (local.get $pc) (f64x2.add (v128.and (v128.load offset=0 (local.get $pc)) (local.get $keep)) (local.get $c10)))
        (v128.store offset=16 (local.get $pc) (f64x2.add (v128.and (v128.load offset=16 (local.get $pc)) (local.get $keep)) (local.get $c11)))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
        (v128.store offset=0 (local.get $pc) (f64x2.add (v128.and (v128.load offset=0 (local.get $pc)) (local.get $keep)) (local.get $c20)))
        (v128.store offset=16 (local.get $pc) (f64x2.add (v128.and (v128.load offset=16 (local.get $pc)) (local.get $keep)) (local.get $c21)))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
        (v128.store offset=0 (local.get $pc) (f64x2.add (v128.and (v128.load offset=0 (local.get $pc)) (local.get $keep)) (local.get $c30)))
        (v128.store offset=16 (local.get $pc) (f64x2.add (v128.and (v128.load offset=16 (local.get $pc)) (local.get $keep)) (local.get $c31)))
        (br_if $rows (i32.lt_u (local.tee $ir (i32.add (local.get $ir) (i32.const 1))) (local.get $mp))))
      (br_if $columns (i32.lt_u (local.tee $jr (i32.add (local.get $jr) (i32.const 1))) (local.get $np)))))
)
