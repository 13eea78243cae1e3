;; conv.wat -- traps C cannot produce reliably (clang picks saturating
;; conversions): NaN -> i32 is an invalid conversion, 3e9 -> i32 overflows.
;; No imports, no memory: also covers modules without WASI or memory.
(module
  (func (export "conv_nan") (result i32)
    f32.const nan
    i32.trunc_f32_s)
  (func (export "conv_big") (result i32)
    f64.const 3e9
    i32.trunc_f64_s)
  (func (export "conv") (param f64) (result i32)
    local.get 0
    i32.trunc_f64_s))
