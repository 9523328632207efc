import assert from "node:assert/strict";
import { CsvParseError, CsvParser, CsvWriter, parseCsvText, parseNumberBytes } from "../../pipeline/csv.ts";

const enc = new TextEncoder();

function parseInChunks(text: string, size: number): string[][] {
  const rows: string[][] = [];
  const parser = new CsvParser((r) => {
    const row: string[] = [];
    for (let i = 0; i < r.count; i++) row.push(r.text(i));
    rows.push(row);
  });
  const bytes = enc.encode(text);
  for (let i = 0; i < bytes.length; i += size) parser.push(bytes.subarray(i, i + size));
  parser.end();
  return rows;
}

const TRICKY = 'a,b,c\r\n1,"x, ""y""",3\n\n2,"multi\nline",\n"",,"z"\n4,5,6';
const EXPECTED = [["a", "b", "c"], ["1", 'x, "y"', "3"], ["2", "multi\nline", ""], ["", "", "z"], ["4", "5", "6"]];

Deno.test("CsvParser parses quotes, escapes, embedded newlines and CRLF", () => {
  assert.deepEqual(parseCsvText(TRICKY), EXPECTED);
});

Deno.test("CsvParser gives the same records whatever the chunk boundaries", () => {
  for (let size = 1; size <= TRICKY.length; size++) {
    assert.deepEqual(parseInChunks(TRICKY, size), EXPECTED, `chunk size ${size}`);
  }
  assert.deepEqual(parseInChunks("a,b\n1,2\n", 3), [["a", "b"], ["1", "2"]]);
  assert.deepEqual(parseInChunks("a,b\r", 1), [["a", "b"]]);
  assert.deepEqual(parseInChunks("a,\n", 1), [["a", ""]]);
  assert.deepEqual(parseInChunks("a,", 1), [["a", ""]]);
});

Deno.test("CsvParser reports line numbers of records, counting quoted newlines", () => {
  const lines: number[] = [];
  const p = new CsvParser((r) => lines.push(r.line));
  p.push(enc.encode('h\n"a\nb"\n\nc\n'));
  p.end();
  assert.deepEqual(lines, [1, 2, 5]);
});

Deno.test("CsvParser rejects binary input and unterminated quotes with a CsvParseError", () => {
  assert.throws(
    () => parseCsvText("a,b\n1,\u0000\n"),
    (e) => e instanceof CsvParseError && /NUL byte near line 2/.test(e.message),
  );
  assert.throws(
    () => parseCsvText('a,b\n1,"open\n'),
    (e) => e instanceof CsvParseError && /Unterminated quoted field starting at line 2/.test(e.message),
  );
  assert.throws(() => parseCsvText('a,b\n"x"y,1\n'), CsvParseError);
});

Deno.test("CsvParser drops a UTF-8 byte order mark", () => {
  assert.deepEqual(parseCsvText("\ufeffa,b\n1,2"), [["a", "b"], ["1", "2"]]);
});

Deno.test("parseNumberBytes() agrees with Number() on decimals and rejects junk", () => {
  const cases = [
    "0",
    "-0.5",
    "+3",
    "12.345",
    "499.1234567890123",
    "1e3",
    "2.5E-2",
    ".5",
    "5.",
    " 7 ",
    "0.1",
    "123456789012345678",
  ];
  for (const c of cases) {
    const b = enc.encode(c);
    assert.equal(parseNumberBytes(b, 0, b.length), Number(c), c);
  }
  for (const c of ["", "abc", "1.2.3", "0x10", "1e", "--1"]) {
    const b = enc.encode(c);
    assert.ok(Number.isNaN(parseNumberBytes(b, 0, b.length)), c);
  }
  let seed = 7;
  for (let i = 0; i < 20000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const v = (seed / 2 ** 32) * 10 ** ((seed % 9) - 3);
    const s = v.toFixed(seed % 12);
    const b = enc.encode(s);
    assert.equal(parseNumberBytes(b, 0, b.length), Number(s), s);
  }
});

Deno.test("CsvRecord.isMissing() treats empty fields and pandas NA tokens as missing", () => {
  const seen: boolean[] = [];
  const p = new CsvParser((r) => {
    for (let i = 0; i < r.count; i++) seen.push(r.isMissing(i));
  });
  p.push(enc.encode(",NaN, ,NA,nan,None,0,N,-1\n"));
  p.end();
  assert.deepEqual(seen, [true, true, true, true, true, true, false, false, false]);
});

Deno.test("CsvWriter formats integers, fixed decimals and quoted strings", async () => {
  const chunks: Uint8Array[] = [];
  const w = new CsvWriter((c) => {
    chunks.push(c.slice());
  }, 16);
  w.int(0), w.sep(), w.int(-1234567), w.sep(), w.fixed(2.005, 2), w.sep(), w.fixed(-0.001, 2), w.sep();
  w.fixed(10.5, 2), w.sep(), w.fixed(NaN, 2), w.sep(), w.string('he said "hi", ok'), w.sep(), w.number(0.1);
  w.endRow();
  await w.close();
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  assert.equal(text, `0,-1234567,${Math.round(2.005 * 100) / 100},0,10.5,,"he said ""hi"", ok",0.1\n`);
  for (const v of [0.125, 1.005, 123.456, 99.995, 7, 0.07]) {
    const ch: Uint8Array[] = [];
    const w2 = new CsvWriter((c) => {
      ch.push(c.slice());
    });
    w2.fixed(v, 2);
    await w2.close();
    assert.equal(new TextDecoder().decode(ch[0]), String(Math.round(v * 100) / 100), String(v));
  }
});
