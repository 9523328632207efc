import assert from "node:assert/strict";
import { tableFromIPC } from "apache-arrow";
import { ArrowStreamEncoder, intWidthFor, schemaRanges, tableFromArrow, tableToArrow } from "../../pipeline/arrow.ts";
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
