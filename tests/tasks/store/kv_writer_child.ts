/**
 * Child process for the KV kill test in `store_test.ts`: opens the Deno KV
 * file at `<kv-path>` and puts a large blob under `<key>` through
 * {@link KvStore}, so that the parent can kill it before the manifest commit.
 *
 * Usage: `deno run -A tests/tasks/store/kv_writer_child.ts <kv-path> <key> [mebibytes=100]`.
 * Byte `j` of the blob is `j % 253`. Prints `done` when the put completed.
 *
 * @module
 */

import { KvStore } from "../../../tasks/store/mod.ts";

const [kvPath, key, mibArg = "100"] = Deno.args;
if (kvPath === undefined || key === undefined) {
  throw new TypeError("Missing arguments: usage kv_writer_child.ts <kv-path> <key> [MiB]");
}
const mib = Number(mibArg);
if (!Number.isInteger(mib) || mib < 1) {
  throw new RangeError(`Invalid size ${mibArg}: expected a positive integer of MiB`);
}

const blob = new Uint8Array(mib << 20);
for (let j = 0; j < blob.length; j++) blob[j] = j % 253;
const store = await KvStore.open(kvPath);
try {
  await store.put(key, blob);
} finally {
  store.close();
}
console.log("done");
