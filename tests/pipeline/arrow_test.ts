import assert from "node:assert/strict";
import { ArrowStreamEncoder, tableFromArrow, tableToArrow } from "../../pipeline/arrow.ts";
import { makeTable, type Table } from "../../pipeline/table.ts";

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
