/*
 * worker_rtimpl.c -- wabt's wasm2c runtime (wasm-rt-impl.c, third-party),
 * compiled with its two linear-memory functions renamed.
 *
 * wasm_rt_allocate_memory / wasm_rt_free_memory are defined in worker.c on
 * top of these: free releases the whole guard-page reservation (wabt's
 * unmaps only the used pages and leaks the rest of the reservation, which a
 * long-lived worker cannot afford), and a worker reuses reservations across
 * requests after wiping them.
 */
#define wasm_rt_allocate_memory wabt_rt_allocate_memory
#define wasm_rt_free_memory wabt_rt_free_memory
#include "wasm-rt-impl.c"
