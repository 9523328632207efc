import assert from "node:assert/strict";
import { type Config, loadConfig } from "../../../config/mod.ts";
import {
  type ArtifactStore,
  FsStore,
  getJson,
  KvStore,
  openStore,
  putJson,
  sha256Hex,
  validateKey,
  validatePrefix,
} from "../../../tasks/store/mod.ts";

const MIB = 1 << 20;
const KV_PREFIX = "artifact_store";

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/** An open store of one backend and what it takes to inspect and dispose of it. */
interface Harness {
  store: ArtifactStore;
  /** The KV database behind a KV store. */
  kv?: Deno.Kv;
  /** The root folder of a filesystem store. */
  dir?: string;
  dispose(): Promise<void>;
}

const BACKENDS: Record<"fs" | "kv", () => Promise<Harness>> = {
  fs: async () => {
    const dir = await Deno.makeTempDir({ prefix: "churn_store_test_" });
    return { store: new FsStore(dir), dir, dispose: () => Deno.remove(dir, { recursive: true }) };
  },
  kv: async () => {
    const kv = await Deno.openKv(":memory:");
    const store = new KvStore(kv);
    return {
      store,
      kv,
      dispose: () => {
        kv.close();
        return Promise.resolve();
      },
    };
  },
};

function withStore(backend: "fs" | "kv", fn: (h: Harness) => Promise<void>): () => Promise<void> {
  return async () => {
    const h = await BACKENDS[backend]();
    try {
      await fn(h);
    } finally {
      h.store.close();
      await h.dispose();
    }
  };
}

const INVALID_KEYS = [
  "",
  "/etc/passwd",
  "a//b",
  "a/",
  "a/../b",
  "..",
  "./a",
  "a\\b",
  "C:\\models\\m.json",
  "models/m.json.tmp-123-abcdef12",
  "registry/registry.json.lock",
];

for (const backend of ["fs", "kv"] as const) {
  Deno.test(
    `${backend}: putIfMatch() writes only over the value the caller read`,
    withStore(backend, async ({ store }) => {
      const a = new TextEncoder().encode("a"), b = new TextEncoder().encode("b");
      assert.equal(await store.putIfMatch("reg/state.json", a, null), true, "absent as expected");
      assert.equal(await store.putIfMatch("reg/state.json", b, null), false, "no longer absent");
      assert.equal(await store.putIfMatch("reg/state.json", b, await sha256Hex(b)), false, "wrong hash");
      assert.deepEqual(await store.get("reg/state.json"), a);
      assert.equal(await store.putIfMatch("reg/state.json", b, await sha256Hex(a)), true);
      assert.deepEqual(await store.get("reg/state.json"), b);
      assert.deepEqual(await store.list("reg/"), ["reg/state.json"], "no lock file is listed");
    }),
  );

  Deno.test(
    `${backend}: concurrent read-modify-putIfMatch loops lose no update`,
    withStore(backend, async ({ store }) => {
      const key = "reg/counter.json";
      await store.put(key, new TextEncoder().encode("0"));
      const bump = async () => {
        for (;;) {
          const cur = (await store.get(key))!;
          const next = new TextEncoder().encode(String(Number(new TextDecoder().decode(cur)) + 1));
          if (await store.putIfMatch(key, next, await sha256Hex(cur))) return;
        }
      };
      await Promise.all(Array.from({ length: 12 }, bump));
      assert.equal(new TextDecoder().decode((await store.get(key))!), "12");
    }),
  );

  Deno.test(
    `${backend}: empty, small, 1 MiB and 5 MiB random blobs round-trip byte for byte`,
    withStore(backend, async ({ store }) => {
      const blobs: [string, Uint8Array][] = [
        ["blobs/empty.bin", new Uint8Array(0)],
        ["blobs/small.bin", new Uint8Array([0, 1, 2, 255])],
        ["blobs/one_mib.bin", randomBytes(MIB)],
        ["blobs/five_mib.bin", randomBytes(5 * MIB + 3)],
      ];
      for (const [key, bytes] of blobs) await store.put(key, bytes);
      for (const [key, bytes] of blobs) {
        const got = await store.get(key);
        assert.ok(got !== null, `${key} is missing`);
        assert.equal(got.length, bytes.length, key);
        assert.equal(await sha256Hex(got), await sha256Hex(bytes), key);
        assert.equal((await store.stat(key))?.size, bytes.length, key);
      }
    }),
  );

  Deno.test(
    `${backend}: a put keeps its own copy of the bytes`,
    withStore(backend, async ({ store }) => {
      const bytes = new Uint8Array([1, 2, 3]);
      await store.put("a.bin", bytes);
      bytes[0] = 9;
      assert.deepEqual(await store.get("a.bin"), new Uint8Array([1, 2, 3]));
    }),
  );

  Deno.test(
    `${backend}: an overwrite replaces the whole value, longer or shorter`,
    withStore(backend, async ({ store }) => {
      const big = randomBytes(MIB + 5);
      await store.put("models/m/model.bin", new Uint8Array([7, 7, 7]));
      await store.put("models/m/model.bin", big);
      assert.equal(await sha256Hex((await store.get("models/m/model.bin"))!), await sha256Hex(big));
      await store.put("models/m/model.bin", new Uint8Array([1]));
      assert.deepEqual(await store.get("models/m/model.bin"), new Uint8Array([1]));
      await store.put("models/m/model.bin", new Uint8Array(0));
      assert.deepEqual(await store.get("models/m/model.bin"), new Uint8Array(0));
      assert.deepEqual(await store.list(""), ["models/m/model.bin"]);
    }),
  );

  Deno.test(
    `${backend}: delete removes a key and reports whether it existed`,
    withStore(backend, async ({ store }) => {
      await store.put("reports/drift.json", new Uint8Array([1]));
      await store.put("reports/other.json", new Uint8Array([2]));
      assert.equal(await store.delete("reports/drift.json"), true);
      assert.equal(await store.get("reports/drift.json"), null);
      assert.equal(await store.has("reports/drift.json"), false);
      assert.equal(await store.stat("reports/drift.json"), null);
      assert.equal(await store.delete("reports/drift.json"), false);
      assert.equal(await store.delete("never/written.json"), false);
      assert.deepEqual(await store.list(""), ["reports/other.json"]);
    }),
  );

  Deno.test(
    `${backend}: has is true for stored keys only, not for missing keys or folders`,
    withStore(backend, async ({ store }) => {
      assert.equal(await store.has("models/a.json"), false);
      await store.put("models/a.json", new Uint8Array([1]));
      assert.equal(await store.has("models/a.json"), true);
      assert.equal(await store.has("models"), false);
      assert.equal(await store.has("models/a.json/b"), false);
      assert.equal(await store.get("models"), null);
      assert.equal(await store.get("models/a.json/b"), null);
      assert.equal(await store.stat("models"), null);
    }),
  );

  Deno.test(
    `${backend}: list returns the sorted keys under a prefix`,
    withStore(backend, async ({ store }) => {
      const keys = [
        "registry/registry.json",
        "models/candidate_hgb_20260102T000000Z/model.json",
        "models/baseline_logreg_20260101T000000Z/model.json",
        "models/baseline_logreg_20260101T000000Z/card.json",
        "models2/x.json",
        "top.json",
      ];
      for (const k of keys) await store.put(k, new TextEncoder().encode(k));
      assert.deepEqual(await store.list(""), [...keys].sort());
      assert.deepEqual(await store.list("models/"), [
        "models/baseline_logreg_20260101T000000Z/card.json",
        "models/baseline_logreg_20260101T000000Z/model.json",
        "models/candidate_hgb_20260102T000000Z/model.json",
      ]);
      assert.deepEqual(await store.list("models/base"), [
        "models/baseline_logreg_20260101T000000Z/card.json",
        "models/baseline_logreg_20260101T000000Z/model.json",
      ]);
      assert.deepEqual(await store.list("models"), [
        "models/baseline_logreg_20260101T000000Z/card.json",
        "models/baseline_logreg_20260101T000000Z/model.json",
        "models/candidate_hgb_20260102T000000Z/model.json",
        "models2/x.json",
      ]);
      assert.deepEqual(await store.list("t"), ["top.json"]);
      assert.deepEqual(await store.list("registry/registry.json"), ["registry/registry.json"]);
      assert.deepEqual(await store.list("nothing/"), []);
    }),
  );

  Deno.test(
    `${backend}: putJson and getJson round-trip a document`,
    withStore(backend, async ({ store }) => {
      const doc = { model: "baseline_logreg", metrics: { pr_auc: 0.845 }, rows: [1, 2], note: "é" };
      await putJson(store, "metrics/m.json", doc);
      assert.deepEqual(await getJson(store, "metrics/m.json"), doc);
      assert.equal(new TextDecoder().decode((await store.get("metrics/m.json"))!), JSON.stringify(doc, null, 2) + "\n");
      assert.equal(await getJson(store, "metrics/missing.json"), null);
      await store.put("metrics/bad.json", new TextEncoder().encode("{not json"));
      await assert.rejects(
        getJson(store, "metrics/bad.json"),
        (e) => e instanceof SyntaxError && e.message.includes("metrics/bad.json"),
      );
      await assert.rejects(putJson(store, "metrics/u.json", undefined), TypeError);
    }),
  );

  Deno.test(
    `${backend}: stat reports the size and the write time`,
    withStore(backend, async ({ store }) => {
      const before = Date.now() - 2000;
      const bytes = randomBytes(70_000);
      await store.put("a/b.bin", bytes);
      const st = await store.stat("a/b.bin");
      assert.ok(st !== null);
      assert.equal(st.size, 70_000);
      assert.ok(st.updatedAt.getTime() >= before && st.updatedAt.getTime() <= Date.now() + 2000, String(st.updatedAt));
      if (backend === "kv") assert.equal(st.sha256, await sha256Hex(bytes));
      assert.equal(await store.stat("a/missing.bin"), null);
    }),
  );

  Deno.test(
    `${backend}: invalid keys are rejected with a TypeError naming the key`,
    withStore(backend, async ({ store }) => {
      for (const key of INVALID_KEYS) {
        const named = (e: unknown) => e instanceof TypeError && e.message.includes(JSON.stringify(key));
        await assert.rejects(store.put(key, new Uint8Array(1)), named, `put ${key}`);
        await assert.rejects(store.get(key), named, `get ${key}`);
        await assert.rejects(store.has(key), named, `has ${key}`);
        await assert.rejects(store.delete(key), named, `delete ${key}`);
        await assert.rejects(store.stat(key), named, `stat ${key}`);
      }
      for (const prefix of ["/models", "a//", "../x", "a\\"]) {
        await assert.rejects(
          store.list(prefix),
          (e) => e instanceof TypeError && e.message.includes(JSON.stringify(prefix)),
        );
      }
      await assert.rejects(store.put("ok.bin", "text" as unknown as Uint8Array), TypeError);
      assert.deepEqual(await store.list(""), []);
    }),
  );
}

Deno.test("validateKey accepts relative paths and validatePrefix also accepts a trailing slash or nothing", () => {
  assert.equal(
    validateKey("models/baseline_logreg_20260101T000000Z/model.json"),
    "models/baseline_logreg_20260101T000000Z/model.json",
  );
  assert.equal(validateKey("a.tmp-file"), "a.tmp-file");
  assert.equal(validatePrefix(""), "");
  assert.equal(validatePrefix("models/"), "models/");
  assert.throws(() => validateKey("models/"), TypeError);
  assert.throws(() => validateKey("x".repeat(1025)), TypeError);
});

Deno.test("fs: keys map to files under the root and leftover temporary files are never listed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "churn_store_test_" });
  try {
    const store = new FsStore(dir);
    await store.put("artifacts/models/m.json", new Uint8Array([1]));
    assert.deepEqual(await Deno.readFile(`${dir}/artifacts/models/m.json`), new Uint8Array([1]));
    // What a writer killed mid-write leaves beside its target.
    await Deno.writeFile(`${dir}/artifacts/models/m.json.tmp-4242-0badc0de`, new Uint8Array(10));
    await Deno.writeFile(`${dir}/artifacts/models/n.json.tmp-4242-0badc0de`, new Uint8Array(10));
    assert.deepEqual(await store.list(""), ["artifacts/models/m.json"]);
    assert.deepEqual(await store.list("artifacts/models/"), ["artifacts/models/m.json"]);
    assert.equal(store.pathOf("artifacts/models/m.json"), `${dir}/artifacts/models/m.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fs: a missing root lists nothing and is created by the first put", async () => {
  const dir = await Deno.makeTempDir({ prefix: "churn_store_test_" });
  try {
    const store = new FsStore(`${dir}/not/yet`);
    assert.deepEqual(await store.list(""), []);
    assert.deepEqual(await store.list("a/"), []);
    await store.put("a/b.txt", new TextEncoder().encode("hi"));
    assert.deepEqual(await store.list(""), ["a/b.txt"]);
    assert.throws(() => new FsStore(""), TypeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function countKv(kv: Deno.Kv, kind: "chunk" | "manifest"): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: [KV_PREFIX, kind] })) n++;
  return n;
}

Deno.test(
  "kv: an overwrite deletes the chunks of the replaced version",
  withStore("kv", async ({ store, kv }) => {
    await store.put("m.bin", randomBytes(MIB)); // 18 chunks of 60,000 bytes
    assert.equal(await countKv(kv!, "chunk"), 18);
    await store.put("m.bin", randomBytes(200_000)); // 4 chunks
    assert.equal(await countKv(kv!, "chunk"), 4);
    await store.put("other.bin", randomBytes(120_000)); // 2 more chunks
    assert.equal(await countKv(kv!, "chunk"), 6);
    await store.put("m.bin", new Uint8Array(0));
    assert.equal(await countKv(kv!, "chunk"), 2);
    assert.equal(await store.delete("other.bin"), true);
    assert.equal(await countKv(kv!, "chunk"), 0);
    assert.equal(await countKv(kv!, "manifest"), 1);
    assert.equal(await store.delete("m.bin"), true);
    assert.equal(await countKv(kv!, "manifest"), 0);
  }),
);

Deno.test(
  "kv: a reader racing a writer that replaces a large blob always gets one complete version",
  withStore(
    "kv",
    async ({ store, kv }) => {
      const versions = new Set<string>();
      const first = randomBytes(3 * MIB);
      versions.add(await sha256Hex(first));
      await store.put("race/model.bin", first);
      let writing = true;
      const writer = (async () => {
        try {
          for (let i = 0; i < 25; i++) {
            const next = randomBytes(3 * MIB - i * 1000);
            versions.add(await sha256Hex(next));
            await store.put("race/model.bin", next);
          }
        } finally {
          writing = false;
        }
      })();
      const seen = new Set<string>();
      let reads = 0;
      const reader = async () => {
        while (writing) {
          const got = await store.get("race/model.bin");
          assert.ok(got !== null);
          const h = await sha256Hex(got);
          assert.ok(versions.has(h), `read ${got.length} bytes that match no written version`);
          seen.add(h);
          reads++;
        }
      };
      await Promise.all([writer, reader(), reader()]);
      assert.ok(reads >= 2, `only ${reads} reads`);
      assert.ok(seen.size >= 2, `the readers saw ${seen.size} version(s) only, so they did not race the writer`);
      assert.equal(await countKv(kv!, "chunk"), Math.ceil((3 * MIB - 24 * 1000) / 60_000));
    },
  ),
);

Deno.test("kv: small chunk sizes split blobs at exact boundaries", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new KvStore(kv, { chunkSize: 1000, prefix: "small" });
    for (const n of [1, 999, 1000, 1001, 3000, 250_000]) {
      const bytes = randomBytes(n);
      await store.put(`b/${n}`, bytes);
      assert.deepEqual(await store.get(`b/${n}`), bytes, `size ${n}`);
    }
    let chunks = 0;
    for await (const _ of kv.list({ prefix: ["small", "chunk", "b/250000"] })) chunks++;
    assert.equal(chunks, 250);
    assert.throws(() => new KvStore(kv, { chunkSize: 0 }), RangeError);
    assert.throws(() => new KvStore(kv, { chunkSize: 70_000 }), RangeError);
    assert.throws(() => new KvStore(kv, { prefix: "" }), TypeError);
  } finally {
    kv.close();
  }
});

Deno.test(
  "kv: a damaged blob is reported instead of returned",
  withStore("kv", async ({ store, kv }) => {
    await store.put("d/lost.bin", randomBytes(150_000));
    await store.put("d/flipped.bin", randomBytes(150_000));
    const chunkKeys = async (key: string) =>
      (await Array.fromAsync(kv!.list({ prefix: [KV_PREFIX, "chunk", key] }))).map((e) => e.key);
    await kv!.delete((await chunkKeys("d/lost.bin"))[1]);
    const [flipKey] = await chunkKeys("d/flipped.bin");
    const flipped = (await kv!.get<Uint8Array>(flipKey)).value!.slice();
    flipped[0] ^= 1;
    await kv!.set(flipKey, flipped);
    await assert.rejects(store.get("d/lost.bin"), (e) => e instanceof Error && /d\/lost\.bin.*damaged/.test(e.message));
    await assert.rejects(
      store.get("d/flipped.bin"),
      (e) => e instanceof Error && /d\/flipped\.bin.*damaged/.test(e.message),
    );
  }),
);

/** Kills a child putting 100 MiB into the KV file at `path` once some of its chunks are stored. */
async function killKvWriter(path: string, key: string): Promise<Deno.CommandOutput> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./kv_writer_child.ts", import.meta.url).href, path, key, "100"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  const kv = await Deno.openKv(path);
  try {
    const deadline = Date.now() + 60_000;
    while (!exited && Date.now() < deadline) {
      let n = 0;
      for await (const _ of kv.list({ prefix: [KV_PREFIX, "chunk", key] })) if (++n >= 40) break;
      if (n >= 40) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    kv.close();
  }
  if (!exited) child.kill("SIGKILL");
  return await child.output();
}

Deno.test("kv: a writer killed before its manifest commit leaves the old value; sweep removes its chunks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "churn_store_test_" });
  const path = `${dir}/store.sqlite`;
  try {
    const old = randomBytes(200_000);
    const before = await KvStore.open(path);
    await before.put("models/m.bin", old);
    await before.put("models/keep.bin", randomBytes(100_000));
    before.close();

    const status = await killKvWriter(path, "models/m.bin");
    assert.equal(
      status.signal,
      "SIGKILL",
      `the child was not killed mid-put: ${new TextDecoder().decode(status.stderr)}`,
    );

    const store = await KvStore.open(path);
    try {
      assert.deepEqual(await store.get("models/m.bin"), old);
      assert.equal((await store.stat("models/m.bin"))?.size, 200_000);
      assert.deepEqual(await store.list(""), ["models/keep.bin", "models/m.bin"]);
      const orphaned = await countKv(store.kv, "chunk") - 4 - 2;
      assert.ok(orphaned >= 40, `${orphaned} orphaned chunks`);
      assert.equal(await store.sweep(), 0, "a young write must be spared");
      assert.equal(await store.sweep({ olderThanMs: 0 }), orphaned);
      assert.equal(await countKv(store.kv, "chunk"), 6);
      assert.deepEqual(await store.get("models/m.bin"), old);
      assert.equal((await store.get("models/keep.bin"))?.length, 100_000);
      await assert.rejects(store.sweep({ olderThanMs: -1 }), RangeError);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore() opens the backend named by config.store", async () => {
  const config = loadConfig({ env: "dev", file: null });
  const dir = await Deno.makeTempDir({ prefix: "churn_store_test_" });
  try {
    const fs = await openStore(config, { root: dir });
    assert.ok(fs instanceof FsStore);
    assert.equal(fs.backend, "fs");
    await putJson(fs, "artifacts/registry/registry.json", { production: null });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/artifacts/registry/registry.json`)), {
      production: null,
    });
    fs.close();
    const byDefault = await openStore(config);
    assert.ok(byDefault instanceof FsStore && byDefault.root === "/");
    assert.equal(byDefault.keyOf("artifacts/models/m.json"), `${Deno.cwd().slice(1)}/artifacts/models/m.json`);
    assert.equal(byDefault.keyOf("/data/./models/../models/m.json"), "data/models/m.json");
    assert.equal(new FsStore(dir).keyOf(`${dir}/a/b.json`), "a/b.json");
    assert.throws(() => new FsStore(dir).keyOf("/elsewhere/b.json"), /outside the store's root/);

    const kvConfig: Config = { ...config, store: { ...config.store, backend: "kv", kv_path: `${dir}/kv.sqlite` } };
    const kv = await openStore(kvConfig);
    assert.ok(kv instanceof KvStore);
    await kv.put("a.bin", new Uint8Array([5]));
    kv.close();
    const again = await openStore(kvConfig);
    assert.deepEqual(await again.get("a.bin"), new Uint8Array([5]));
    again.close();

    const mem = await openStore(kvConfig, { kvPath: ":memory:" });
    assert.equal(await mem.has("a.bin"), false);
    mem.close();

    const bad = { store: { backend: "s3", kv_path: null } } as unknown as Config;
    await assert.rejects(openStore(bad), (e) => e instanceof RangeError && e.message.includes('"s3"'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv: processes writing one database file at once all succeed (SQLite busy is retried)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "churn_store_test_" });
  const path = `${dir}/store.sqlite`;
  try {
    const children = 4, rounds = 15;
    const runs = Array.from({ length: children }, (_, id) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("./kv_busy_child.ts", import.meta.url).href, path, String(id), String(rounds)],
        stdout: "piped",
        stderr: "piped",
      }).output());
    for (const out of await Promise.all(runs)) {
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "done");
    }
    const store = await KvStore.open(path);
    try {
      const keys = await store.list("");
      assert.equal(keys.length, children * rounds + 1);
      const blob = await store.get(`${children - 1}/${rounds - 1}`);
      assert.ok(blob !== null && blob.length === 200_000 && blob[0] === (children - 1 + rounds - 1) % 251);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
