/**
 * Child process for the KV contention test in `store_test.ts`: opens the Deno
 * KV file at `<kv-path>`, which other children write at the same time, and for
 * `<rounds>` rounds puts a 200 kB blob under `<id>/<round>`, reads it back,
 * replaces a shared key by compare-and-swap and lists the keys. Prints `done`.
 *
 * Usage: `deno run -A tests/tasks/store/kv_busy_child.ts <kv-path> <id> <rounds>`.
 * Byte `j` of blob `<id>/<round>` is `(j + id + round) % 251`.
 *
 * @module
 */

import { KvStore } from "../../../tasks/store/mod.ts";

const [kvPath, idArg, roundsArg] = Deno.args;
const id = Number(idArg), rounds = Number(roundsArg);
if (kvPath === undefined || !Number.isInteger(id) || !Number.isInteger(rounds)) {
  throw new TypeError("Missing arguments: usage kv_busy_child.ts <kv-path> <id> <rounds>");
}
const store = await KvStore.open(kvPath);
try {
  for (let round = 0; round < rounds; round++) {
    const blob = new Uint8Array(200_000);
    for (let j = 0; j < blob.length; j++) blob[j] = (j + id + round) % 251;
    await store.put(`${id}/${round}`, blob);
    const back = await store.get(`${id}/${round}`);
    if (back === null || back.length !== blob.length || back.some((v, j) => v !== blob[j])) {
      throw new Error(`Read back a different blob for ${id}/${round}`);
    }
    const shared = await store.stat("shared");
    await store.putIfMatch("shared", blob.subarray(0, 1000), shared?.sha256 ?? null);
    await store.list(`${id}/`);
  }
  console.log("done");
} finally {
  store.close();
}
