import assert from "node:assert/strict";
import {
  Dictionary,
  Field,
  Int32,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import { ArrowStreamEncoder, tableFromArrow, tableToArrow } from "../../pipeline/arrow.ts";
import { concatTables, makeTable, type Table } from "../../pipeline/table.ts";
import { randomTables } from "../helpers/tables.ts";
import {
  atomicWrite,
  eventLoopSlice,
  exists,
  readArrowBatches,
  readArrowTable,
  setEventLoopSlice,
  writeArrowTable,
  writeFileAtomic,
  writeJsonAtomic,
} from "../../tasks/io.ts";
import { FsStore } from "../../tasks/store/mod.ts";

const CHILD = new URL("./atomic_writer_child.ts", import.meta.url).href;
const MIB = 1 << 20;

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

async function tempNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.includes(".tmp-")) names.push(e.name);
  return names;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "churn_io_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Starts the child writer on `path` (200 MiB in 1 MiB chunks, 5 ms apart),
 * waits until its temporary file holds at least `killAfterBytes`, and kills it
 * with SIGKILL. Returns the exit status and the temporary file's name and size.
 */
async function killMidWrite(
  path: string,
  killAfterBytes: number,
): Promise<{ status: Deno.CommandStatus; tmpName: string; tmpSize: number; stderr: string }> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const base = path.slice(path.lastIndexOf("/") + 1);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, path, "200", "5"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  let tmpName = "";
  let tmpSize = 0;
  const deadline = Date.now() + 60_000;
  while (tmpSize < killAfterBytes && !exited && Date.now() < deadline) {
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.startsWith(base + ".tmp-")) continue;
      tmpName = e.name;
      tmpSize = await Deno.stat(`${dir}/${e.name}`).then((s) => s.size, () => 0);
    }
    if (tmpSize < killAfterBytes) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (!exited) child.kill("SIGKILL");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  return { status: out, tmpName, tmpSize, stderr };
}

Deno.test("atomicWrite() writes every chunk of a new file and creates the missing folders", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/a/b/c.bin`;
    await atomicWrite(path, async (write) => {
      await write(new Uint8Array([1, 2, 3]));
      await write(new Uint8Array([4, 5]));
    });
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([1, 2, 3, 4, 5]));
    assert.deepEqual(await tempNames(`${dir}/a/b`), []);
  });
});

Deno.test("writeFileAtomic() replaces an existing file and leaves no temporary file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/report.txt`;
    await writeFileAtomic(path, "old content that is longer than the new one\n");
    await writeFileAtomic(path, "new\n");
    assert.equal(await Deno.readTextFile(path), "new\n");
    await writeFileAtomic(path, new Uint8Array([0, 255]));
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([0, 255]));
    assert.deepEqual(await tempNames(dir), []);
  });
});

Deno.test("writeJsonAtomic() writes pretty-printed JSON with a trailing newline", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/m.json`;
    await writeJsonAtomic(path, { a: 1, b: [true] });
    assert.equal(await Deno.readTextFile(path), '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}\n');
  });
});

Deno.test("atomicWrite() with a throwing producer keeps the old file and removes its temporary file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/model.json`;
    await writeFileAtomic(path, "old\n");
    await assert.rejects(
      atomicWrite(path, async (write) => {
        await write(new TextEncoder().encode("half of the new"));
        throw new Error("producer failed");
      }),
      /producer failed/,
    );
    assert.equal(await Deno.readTextFile(path), "old\n");
    assert.deepEqual(await tempNames(dir), []);
  });
});

Deno.test("atomicWrite() with a throwing producer and no old file leaves no file at all", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/model.json`;
    await assert.rejects(
      atomicWrite(path, async (write) => {
        await write(new Uint8Array(1000));
        throw new RangeError("bad row");
      }),
      RangeError,
    );
    assert.equal(await exists(path), false);
    assert.deepEqual(await tempNames(dir), []);
  });
});

Deno.test("the child writer, when not killed, writes the whole file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.bin`;
    const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", CHILD, path, "3", "0"] }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const bytes = await Deno.readFile(path);
    assert.equal(bytes.length, 3 * MIB);
    assert.deepEqual([bytes[0], bytes[MIB], bytes[2 * MIB], bytes[3 * MIB - 1]], [0, 1, 2, 2]);
    assert.deepEqual(await tempNames(dir), []);
  });
});

Deno.test("a writer killed with SIGKILL halfway leaves the old file byte-identical", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/model.bin`;
    const old = randomBytes(3 * MIB + 17);
    await writeFileAtomic(path, old);
    const { status, tmpName, tmpSize, stderr } = await killMidWrite(path, 8 * MIB);
    assert.equal(status.signal, "SIGKILL", `the child was not killed mid-write: ${stderr}`);
    assert.equal(status.success, false);
    // The kill really happened halfway: a partial temporary file is left beside the target.
    assert.ok(tmpSize >= 8 * MIB && tmpSize < 200 * MIB, `temporary file size ${tmpSize}`);
    assert.ok((await Deno.stat(`${dir}/${tmpName}`)).size < 200 * MIB);
    const now = await Deno.readFile(path);
    assert.equal(now.length, old.length);
    assert.equal(await sha256(now), await sha256(old));
    // The filesystem store never lists the killed writer's leftover.
    const store = new FsStore(dir);
    assert.deepEqual(await store.list(""), ["model.bin"]);
    assert.equal(await sha256((await store.get("model.bin"))!), await sha256(old));
  });
});

Deno.test("a writer killed with SIGKILL halfway with no old file leaves no target file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/model.bin`;
    const { status, tmpName, tmpSize, stderr } = await killMidWrite(path, 4 * MIB);
    assert.equal(status.signal, "SIGKILL", `the child was not killed mid-write: ${stderr}`);
    assert.ok(tmpName !== "" && tmpSize >= 4 * MIB, `temporary file ${tmpName} of ${tmpSize} bytes`);
    assert.equal(await exists(path), false);
    const store = new FsStore(dir);
    assert.deepEqual(await store.list(""), []);
    assert.equal(await store.has("model.bin"), false);
    assert.equal(await store.get("model.bin"), null);
  });
});

Deno.test("atomicWrite() keeps every byte in order through coalesced small chunks and direct large ones", async () => {
  const dir = await Deno.makeTempDir();
  const sizes = [1, 7, 100_000, 3 * MIB, 5, MIB - 1, MIB, 2 * MIB + 3, 0, 900_000, 900_000, 17];
  const chunks = sizes.map((n) => randomBytes(n));
  const expected = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  let off = 0;
  for (const c of chunks) {
    expected.set(c, off);
    off += c.length;
  }
  for (const sync of [true, false]) {
    const path = `${dir}/out-${sync}.bin`;
    await atomicWrite(path, async (write) => {
      for (const c of chunks) {
        const copy = c.slice();
        await write(copy);
        copy.fill(0); // the writer must not keep a reference to the caller's buffer
      }
    }, { sync });
    assert.equal(await sha256(await Deno.readFile(path)), await sha256(expected), `sync ${sync}`);
  }
  assert.deepEqual((await tempNames(dir)).length, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the Arrow readers reject a file cut short, at a message boundary or inside one, naming it", async () => {
  const dir = await Deno.makeTempDir();
  const n = 70_000; // two record batches
  const table = makeTable([
    ["x", { type: "f64", data: Float64Array.from({ length: n }, (_, i) => i / 3) }],
    ["k", { type: "i32", data: Int32Array.from({ length: n }, (_, i) => i) }],
  ]);
  await writeArrowTable(`${dir}/whole.arrow`, table, { sync: false });
  const bytes = await Deno.readFile(`${dir}/whole.arrow`);
  assert.deepEqual(bytes, tableToArrow(table));
  assert.equal((await readArrowTable(`${dir}/whole.arrow`)).length, n);
  // Cut points: without the end marker only (a message boundary), inside the second batch, inside the first.
  for (const cut of [bytes.length - 8, bytes.length - 1000, 5000]) {
    const path = `${dir}/cut-${cut}.arrow`;
    await Deno.writeFile(path, bytes.subarray(0, cut));
    await assert.rejects(() => readArrowTable(path), new RegExp(`Cannot read ${path}`));
    await assert.rejects(async () => {
      let rows = 0;
      for await (const batch of readArrowBatches(path)) rows += batch.length;
      return rows;
    }, new RegExp(`Cannot read ${path}`));
  }
  await assert.rejects(
    () => readArrowTable(`${dir}/cut-${bytes.length - 8}.arrow`),
    /no end-of-stream marker, so the file is incomplete \(rerun the step that writes it\)/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("atomicWrite() keeps two files written side by side in order, and a failure leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  // 30 MB per file in 100 kB chunks, written side by side: many coalesced writes, interleaved.
  const chunks = Array.from({ length: 300 }, () => randomBytes(100_000));
  const expected = new Uint8Array(300 * 100_000);
  chunks.forEach((c, i) => expected.set(c, i * 100_000));
  await atomicWrite(`${dir}/a.bin`, async (writeA) => {
    await atomicWrite(`${dir}/b.bin`, async (writeB) => {
      for (const c of chunks) {
        const copy = c.slice();
        await writeA(copy);
        await writeB(copy);
        copy.fill(0);
      }
    }, { sync: false });
  }, { sync: false });
  const want = await sha256(expected);
  assert.equal(await sha256(await Deno.readFile(`${dir}/a.bin`)), want);
  assert.equal(await sha256(await Deno.readFile(`${dir}/b.bin`)), want);
  // The producer fails after many writes: the error surfaces, the old file stays.
  await assert.rejects(
    () =>
      atomicWrite(`${dir}/a.bin`, async (write) => {
        for (const c of chunks) await write(c);
        throw new Error("producer failed");
      }),
    /producer failed/,
  );
  assert.equal(await sha256(await Deno.readFile(`${dir}/a.bin`)), want);
  assert.deepEqual(await tempNames(dir), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("atomicWrite() replaces an existing file, whether or not it may exchange the names", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/table.arrow`;
  await atomicWrite(path, (write) => write(new TextEncoder().encode("old content")), { sync: false });
  const before = await Deno.stat(path);
  await atomicWrite(path, (write) => write(new TextEncoder().encode("new")), { sync: false });
  assert.equal(await Deno.readTextFile(path), "new");
  assert.notEqual((await Deno.stat(path)).ino, before.ino);
  assert.deepEqual(await tempNames(dir), []);
  // A directory in the way is an error, never swapped with the file.
  await Deno.mkdir(`${dir}/sub.arrow`);
  await Deno.writeTextFile(`${dir}/sub.arrow/keep`, "x");
  await assert.rejects(() => atomicWrite(`${dir}/sub.arrow`, (write) => write(new Uint8Array(3)), { sync: false }));
  assert.equal(await Deno.readTextFile(`${dir}/sub.arrow/keep`), "x");
  // Without the FFI permission (as on Deno Deploy) the plain rename does the same.
  const script = `${dir}/child.ts`;
  await Deno.writeTextFile(
    script,
    `import { atomicWrite } from "${new URL("../../tasks/io.ts", import.meta.url)}";
     if (Deno.permissions.querySync({ name: "ffi" }).state === "granted") throw new Error("FFI allowed");
     await atomicWrite(${JSON.stringify(path)}, (w) => w(new TextEncoder().encode("plain")), { sync: false });`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      "--allow-read",
      "--allow-write",
      "--allow-env",
      script,
    ],
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  await Deno.remove(script);
  assert.equal(await Deno.readTextFile(path), "plain");
  assert.deepEqual(await tempNames(dir), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readArrowBatches() decodes our streams as apache-arrow does: every column kind, dictionaries that grow, narrow ints", async () => {
  const dir = await Deno.makeTempDir();
  const tableOf = randomTables(23, { growth: 0.5, copies: true });

  const widths = new Map([["i8", 8], ["i16", 16]] as const);
  for (const lengths of [[5, 3, 0, 17], [70000, 1, 65536], [0], [1000, 999, 1001]]) {
    const path = `${dir}/t.arrow`;
    const tables = lengths.map(tableOf);
    await atomicWrite(path, async (write) => {
      const enc = new ArrowStreamEncoder({ widths });
      for (const t of tables) {
        for (const c of enc.encode(t)) await write(c);
        enc.recycle();
      }
      for (const c of enc.finish()) await write(c);
    }, { sync: false });
    const ours: Table[] = [];
    for await (const b of readArrowBatches(path)) ours.push(structuredClone(b));
    const library = tableFromArrow(await Deno.readFile(path));
    const got = concatTables(ours.length ? ours : [library]);
    assert.equal(got.length, library.length, `lengths ${lengths}`);
    for (const [name, c] of library.columns) {
      const g = got.columns.get(name)!;
      assert.equal(g.type, c.type, name);
      if (c.type === "dict" && g.type === "dict") {
        assert.deepEqual(
          [...g.codes].map((k) => k < 0 ? null : g.dictionary[k]),
          [...c.codes].map((k) => k < 0 ? null : c.dictionary[k]),
          `${lengths}: ${name}`,
        );
      } else if (c.type !== "dict" && g.type !== "dict") {
        assert.deepEqual(g.data, c.data, `${lengths}: ${name}`);
      }
    }
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readArrowBatches() reads missing dictionary codes from the validity bitmap, as other writers leave them", async () => {
  // apache-arrow (like pyarrow) may leave any index under a null slot: here 0.
  const field = new Field("s", new Dictionary(new Utf8(), new Int32(), 0), true);
  const child = makeData({
    type: field.type,
    length: 3,
    data: new Int32Array([0, 0, 1]),
    nullBitmap: new Uint8Array([0b101]),
    dictionary: vectorFromArray(["x", "y"], new Utf8()),
  } as never);
  const writer = new RecordBatchStreamWriter();
  writer.write(
    new RecordBatch(
      new Schema([field]),
      makeData({ type: new Struct([field]), length: 3, children: [child] }) as never,
    ),
  );
  writer.finish();
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/s.arrow`, writer.toUint8Array(true));
  const batches: Table[] = [];
  for await (const b of readArrowBatches(`${dir}/s.arrow`)) batches.push(structuredClone(b));
  const s = batches[0].columns.get("s");
  assert.deepEqual(s, { type: "dict", codes: new Int32Array([0, -1, 1]), dictionary: ["x", "y"] });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readArrowBatches() gives the event loop a turn between batches in the service, never in the CLI", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/t.arrow`;
  const table = makeTable([["x", { type: "i32", data: new Int32Array(40_000).map((_, i) => i) }]]);
  await writeArrowTable(path, table, { sync: false, batchEnds: [8192, 16384, 24576, 32768, 40000] });
  // Five batches, each worked on for 30 ms by the caller, while a timer is due every millisecond.
  const run = async (): Promise<number> => {
    let ticks = 0, batches = 0;
    const timer = setInterval(() => ticks++, 1);
    for await (const _ of readArrowBatches(path)) {
      batches++;
      const until = performance.now() + 30;
      while (performance.now() < until) { /* the caller's synchronous work */ }
    }
    clearInterval(timer);
    assert.equal(batches, 5);
    return ticks;
  };
  const before = eventLoopSlice();
  try {
    // Off (the CLI): the file is read synchronously and nothing else awaits, so the timer never runs.
    setEventLoopSlice(null);
    assert.equal(await run(), 0);
    setEventLoopSlice(20);
    const ticks = await run();
    assert.ok(ticks >= 3, `the timer ran ${ticks} times`);
  } finally {
    setEventLoopSlice(before);
  }
  assert.throws(() => setEventLoopSlice(0), { name: "RangeError", message: /positive number of ms, got 0/ });
  await Deno.remove(dir, { recursive: true });
});
