;; Packing for the CPU backend's implicit-GEMM convolution (src/fused/conv-gemm.ts), in WebAssembly
;; SIMD (forward and weight-gradient panels). Assembled by tooling/build-wasm.mjs into src/conv-wasm.ts. It shares the gemm module's
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
)
