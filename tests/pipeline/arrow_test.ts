import assert from "node:assert/strict";
import {
  Date_,
  DateUnit,
  Dictionary,
  Field,
  Float64,
  Int16,
  Int32,
  Int8,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  tableFromIPC,
  Uint8,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import {
  ArrowStreamEncoder,
  type IntWidth,
  intWidthFor,
  schemaRanges,
  tableFromArrow,
  tableToArrow,
} from "../../pipeline/arrow.ts";
import { randomTables } from "../helpers/tables.ts";
import { integerRanges, makeTable, type Table } from "../../pipeline/table.ts";

function sample(): Table {
  return makeTable({
    a: { type: "f64", data: new Float64Array([1.5, NaN, -3]) },
    t: { type: "timestamp", data: new Float64Array([0, 1.7e12, NaN]) },
    d: { type: "date", data: new Int32Array([0, 20454, -1]) },
    s: { type: "dict", codes: new Int32Array([0, -1, 1]), dictionary: ["x", "y"] },
    b: { type: "bool", data: new Uint8Array([1, 0, 1]) },
    i: { type: "i32", data: new Int32Array([7, -8, 2147483647]) },
  });
}

Deno.test("tableFromArrow() restores every column kind written by tableToArrow()", () => {
  const t = sample();
  const back = tableFromArrow(tableToArrow(t));
  assert.equal(back.length, 3);
  assert.deepEqual([...back.columns.keys()], [...t.columns.keys()]);
  for (const [name, c] of t.columns) assert.deepEqual(back.columns.get(name), c, name);
});

Deno.test("ArrowStreamEncoder writes batches whose dictionaries grow", () => {
  const enc = new ArrowStreamEncoder();
  const dict = ["a"];
  const chunks = [...enc.encode(makeTable({ s: { type: "dict", codes: new Int32Array([0, 0]), dictionary: dict } }))];
  dict.push("b");
  chunks.push(...enc.encode(makeTable({ s: { type: "dict", codes: new Int32Array([1, 0, -1]), dictionary: dict } })));
  chunks.push(...enc.finish());
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) bytes.set(c, (off += c.length) - c.length);
  const back = tableFromArrow(bytes);
  const s = back.columns.get("s")!;
  assert.equal(s.type, "dict");
  if (s.type !== "dict") return;
  assert.deepEqual([...s.codes].map((c) => c < 0 ? null : s.dictionary[c]), ["a", "a", "b", "a", null]);
});

Deno.test("tableToArrow() handles an empty table with columns", () => {
  const t = makeTable({ a: { type: "f64", data: new Float64Array(0) } });
  const back = tableFromArrow(tableToArrow(t));
  assert.equal(back.length, 0);
  assert.deepEqual([...back.columns.keys()], ["a"]);
});

Deno.test("ArrowStreamEncoder stores i32 columns in the widths given and reads them back in arrays of that width", () => {
  const small = new Int32Array([-128, 0, 127, 5]), mid = new Int32Array([-32768, 32767, 0, -1]);
  const wide = new Int32Array([-2147483648, 2147483647, 0, 1]);
  const t = makeTable({
    small: { type: "i32", data: small },
    mid: { type: "i32", data: mid },
    wide: { type: "i32", data: wide },
  });
  const widths = new Map([["small", 8], ["mid", 16]] as const);
  const narrow = tableToArrow(t, { widths });
  const types = tableFromIPC(narrow).schema.fields.map((f) => String(f.type));
  assert.deepEqual(types, ["Int8", "Int16", "Int32"]);
  assert.ok(narrow.length < tableToArrow(t).length);
  const back = tableFromArrow(narrow);
  assert.deepEqual(back.columns.get("small"), { type: "i32", data: Int8Array.from(small) });
  assert.deepEqual(back.columns.get("mid"), { type: "i32", data: Int16Array.from(mid) });
  assert.deepEqual(back.columns.get("wide"), { type: "i32", data: wide });
  // Without widths, a column held narrow is stored in its own width; a width given wider converts it.
  const again = tableToArrow(back);
  assert.deepEqual(tableFromIPC(again).schema.fields.map((f) => String(f.type)), ["Int8", "Int16", "Int32"]);
  const widened = tableFromArrow(tableToArrow(back, { widths: new Map([["small", 32]]) }));
  assert.deepEqual(widened.columns.get("small"), { type: "i32", data: small });
  // Also across several record batches of one stream, with the encoder's buffers reused.
  const enc = new ArrowStreamEncoder({ widths });
  const parts: Uint8Array[] = [];
  for (let k = 0; k < 3; k++) {
    const shifted = makeTable({
      small: { type: "i32", data: small.map((v) => v === 127 ? 127 - k : v) },
      mid: { type: "i32", data: mid },
      wide: { type: "i32", data: wide },
    });
    for (const c of enc.encode(shifted)) parts.push(c.slice());
  }
  for (const c of enc.finish()) parts.push(c.slice());
  const all = tableFromArrow(new Uint8Array(parts.flatMap((c) => [...c])));
  assert.deepEqual([...(all.columns.get("small") as { data: Int32Array }).data].filter((_, i) => i % 4 === 2), [
    127,
    126,
    125,
  ]);
});

Deno.test("the encoder records value ranges in the schema and schemaRanges() reads them back", () => {
  const t = sample();
  const ranges = integerRanges(t);
  assert.deepEqual([...ranges], [["d", [-1, 20454]], ["i", [-8, 2147483647]]]);
  const schema = tableFromIPC(tableToArrow(t, { ranges })).schema;
  assert.deepEqual(schemaRanges(schema), ranges);
  assert.deepEqual(schemaRanges(tableFromIPC(tableToArrow(t)).schema), new Map());
  // Recorded ranges leave the data as it was.
  const back = tableFromArrow(tableToArrow(t, { ranges }));
  for (const [name, c] of t.columns) assert.deepEqual(back.columns.get(name), c, name);
});

Deno.test("intWidthFor() picks the narrowest signed width that holds the range", () => {
  assert.equal(intWidthFor(0, 127), 8);
  assert.equal(intWidthFor(-128, 0), 8);
  assert.equal(intWidthFor(0, 128), 16);
  assert.equal(intWidthFor(-129, 0), 16);
  assert.equal(intWidthFor(-32768, 32767), 16);
  assert.equal(intWidthFor(0, 32768), 32);
  assert.equal(intWidthFor(-32769, 0), 32);
});

/**
 * The reference encoder: every batch through apache-arrow's writer, as the encoder did before it
 * framed later batches itself.
 */
function libraryStream(tables: readonly Table[], widths: ReadonlyMap<string, IntWidth>): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  const first = tables[0];
  let dictId = 0;
  const schema = new Schema([...first.columns].map(([name, c]) => {
    const w = widths.get(name) ?? 32;
    const type = c.type === "f64" || c.type === "timestamp"
      ? new Float64()
      : c.type === "date"
      ? new Date_(DateUnit.DAY)
      : c.type === "bool"
      ? new Uint8()
      : c.type === "dict"
      ? new Dictionary(new Utf8(), new Int32(), dictId++)
      : w === 8
      ? new Int8()
      : w === 16
      ? new Int16()
      : new Int32();
    const tag = c.type === "timestamp" ? "timestamp_ms" : c.type === "bool" ? "bool" : null;
    return new Field(name, type, c.type === "dict", tag ? new Map([["churn_mlops.type", tag]]) : undefined);
  }));
  const dicts = new Map<string, { source: readonly string[]; size: number; vector: unknown }>();
  for (const t of tables) {
    for (let start = 0; start < t.length || start === 0; start += 65536) {
      const end = Math.min(t.length, start + 65536);
      const children = [...t.columns].map(([name, c], i) => {
        const type = schema.fields[i].type;
        if (c.type === "dict") {
          const codes = c.codes.subarray(start, end);
          let d = dicts.get(name);
          if (!d || d.source !== c.dictionary || d.size !== c.dictionary.length) {
            d = {
              source: c.dictionary,
              size: c.dictionary.length,
              vector: vectorFromArray([...c.dictionary], new Utf8()),
            };
            dicts.set(name, d);
          }
          const bits = codes.some((v) => v < 0) ? new Uint8Array((codes.length + 7) >> 3) : undefined;
          if (bits) codes.forEach((v, k) => v >= 0 && (bits[k >> 3] |= 1 << (k & 7)));
          return makeData({ type, length: end - start, data: codes, nullBitmap: bits, dictionary: d.vector } as never);
        }
        const w = widths.get(name) ?? 32;
        const values = c.type !== "i32"
          ? c.data
          : w === 8
          ? Int8Array.from(c.data)
          : w === 16
          ? Int16Array.from(c.data)
          : c.data;
        return makeData({ type, length: end - start, data: values.subarray(start, end) } as never);
      });
      const data = makeData({ type: new Struct(schema.fields), length: end - start, children } as never);
      writer.write(new RecordBatch(schema, data as never));
      if (t.length === 0) break;
    }
  }
  writer.finish();
  return writer.toUint8Array(true);
}

Deno.test("ArrowStreamEncoder writes the same bytes as apache-arrow's writer, batch after batch", () => {
  const tableOf = randomTables(11, { growth: 0.3 });

  const widths = new Map<string, IntWidth>([["i8", 8], ["i16", 16]]);
  for (const lengths of [[5, 3, 0, 17], [70000, 1, 65536, 65537], [0], [1000, 1000, 1000]]) {
    const tables = lengths.map(tableOf);
    const enc = new ArrowStreamEncoder({ widths });
    const chunks: Uint8Array[] = [];
    for (const t of tables) {
      for (const c of enc.encode(t)) chunks.push(c.slice());
      enc.recycle();
    }
    for (const c of enc.finish()) chunks.push(c.slice());
    const ours = concat(chunks), reference = libraryStream(tables, widths);
    assert.equal(ours.length, reference.length, `lengths ${lengths}`);
    assert.ok(ours.every((v, i) => v === reference[i]), `lengths ${lengths}: bytes differ`);
  }
});

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
