// run_node.mjs -- runs a wasm32-wasi command module with Node's
// WebAssembly + node:wasi and reports compile and run time on stderr.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [, , file, ...args] = process.argv;
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {},
  returnOnExit: true });
const t0 = performance.now();
const mod = await WebAssembly.compile(readFileSync(file));
const inst = await WebAssembly.instantiate(mod, wasi.getImportObject());
const t1 = performance.now();
const c1 = process.cpuUsage();
const code = wasi.start(inst);
const c2 = process.cpuUsage(c1);
const t2 = performance.now();
process.stderr.write(`propeller-bench compile_ms=${(t1 - t0).toFixed(3)} ` +
  `run_ms=${(t2 - t1).toFixed(3)} ` +
  `cpu_ms=${((c2.user + c2.system) / 1000).toFixed(3)}\n`);
process.exitCode = code;
