/**
 * Child process for the kill test in `io_test.ts`: writes a large file through
 * `atomicWrite`, slowly, so that the parent can kill it halfway.
 *
 * Usage: `deno run -A tests/tasks/atomic_writer_child.ts <path> [mebibytes=200] [pause-ms=5]`.
 * Chunk `i` (1 MiB) is filled with the byte `i % 251`. Prints `done` when the write completed.
 *
 * @module
 */

import { atomicWrite } from "../../tasks/io.ts";

const [path, mibArg = "200", pauseArg = "5"] = Deno.args;
if (path === undefined) {
  throw new TypeError("Missing the path argument: usage atomic_writer_child.ts <path> [MiB] [pause-ms]");
}
const mib = Number(mibArg);
const pauseMs = Number(pauseArg);
if (!Number.isInteger(mib) || mib < 1) {
  throw new RangeError(`Invalid size ${mibArg}: expected a positive integer of MiB`);
}
if (!(pauseMs >= 0)) throw new RangeError(`Invalid pause ${pauseArg}: expected milliseconds >= 0`);

await atomicWrite(path, async (write) => {
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < mib; i++) {
    chunk.fill(i % 251);
    await write(chunk);
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
});
console.log("done");
