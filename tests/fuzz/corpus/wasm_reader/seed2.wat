(module
  (memory (export "memory") 2 65536)
  (table (export "tab") 2 funcref)
  (func (export "_start"))
  (func (export "v") (param v128) (result v128) local.get 0)
  (func (export "multi") (result i32 i64) i32.const 1 i64.const 2)
  (elem (i32.const 0) 0 1))
