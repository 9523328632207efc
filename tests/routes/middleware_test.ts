import assert from "node:assert/strict";
import { isJsonContentType } from "../../routes/body.ts";
import { createLogger } from "../../routes/logger.ts";
import { REQUEST_ID_PATTERN, Secret, sha256Digest, timingSafeEqual } from "../../routes/middleware.ts";
import { jsonPointer } from "../../routes/problem.ts";

Deno.test("timingSafeEqual is true only for identical bytes of the same length", () => {
  assert.ok(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  assert.ok(!timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  assert.ok(!timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2])));
  assert.ok(timingSafeEqual(new Uint8Array(0), new Uint8Array(0)));
});

Deno.test("A Secret matches only its own value and keeps only a digest", () => {
  const s = new Secret("correct horse");
  assert.ok(s.matches("correct horse"));
  for (const wrong of ["correct hors", "correct horse ", "", "Correct horse"]) assert.ok(!s.matches(wrong), wrong);
  assert.ok(!JSON.stringify(s).includes("horse"));
  assert.equal(sha256Digest("abc").length, 32);
});

Deno.test("isJsonContentType accepts application/json and +json types in UTF-8 only", () => {
  for (
    const t of ["application/json", "Application/JSON", "application/json; charset=utf-8", "application/problem+json"]
  ) {
    assert.ok(isJsonContentType(t), t);
  }
  for (
    const t of [null, "", "text/json", "text/plain", "application/jsonx", "application/json; charset=latin1", "json"]
  ) {
    assert.ok(!isJsonContentType(t), String(t));
  }
});

Deno.test("jsonPointer escapes ~ and / in reference tokens as RFC 6901 says", () => {
  assert.equal(jsonPointer([]), "");
  assert.equal(jsonPointer(["features", "a/b", "c~d", 3]), "/features/a~1b/c~0d/3");
});

Deno.test("REQUEST_ID_PATTERN accepts short ids of safe characters only", () => {
  assert.ok(REQUEST_ID_PATTERN.test("3f2b-11:ab_c.d"));
  for (const bad of ["", "a b", "x".repeat(129), "a\nb", "ü"]) assert.ok(!REQUEST_ID_PATTERN.test(bad), bad);
});

Deno.test("The logger writes JSON or text lines at or above its level", () => {
  const lines: string[] = [];
  const now = () => new Date("2026-01-01T00:00:00Z");
  const json = createLogger({ level: "WARNING", write: (l) => lines.push(l), now });
  json.log("INFO", "dropped");
  json.log("ERROR", "kept", { status: 500, skipped: undefined });
  assert.deepEqual(lines.map((l) => JSON.parse(l)), [
    { time: "2026-01-01T00:00:00.000Z", level: "ERROR", msg: "kept", status: 500 },
  ]);
  assert.ok(json.enabled("ERROR") && !json.enabled("DEBUG"));
  const text = createLogger({ level: "DEBUG", format: "text", write: (l) => lines.push(l), now });
  text.log("DEBUG", "request", { route: "/live", status: 200 });
  assert.equal(lines.at(-1), "2026-01-01T00:00:00.000Z DEBUG   request route=/live status=200");
});

Deno.test("A JSON log line is exactly JSON.stringify of {time, level, msg, ...fields}, whatever the fields", () => {
  const lines: string[] = [];
  const at = new Date("2026-03-04T05:06:07.089Z");
  const logger = createLogger({ level: "DEBUG", write: (l) => lines.push(l), now: () => at });
  const cases: Record<string, string | number | boolean | null | undefined>[] = [
    {},
    { method: "POST", route: "/predict", status: 200, latency_ms: 0.125, model_version: "m", request_id: "r" },
    { skipped: undefined, nan: NaN, inf: -Infinity, zero: -0, yes: true, no: null },
    { 'quo"te': "back\\slash\nnew line\u2028\ud800", "𝔘ñí": "😀", "": "" },
    { msg: "overrides the message in place", extra: 1 },
    { level: "custom", time: "custom" },
    { b: 1, 10: "index keys come first", 2: "two", a: 2 },
    { "01": "not an index", "4294967295": "not an index either" },
  ];
  for (const fields of cases) {
    logger.log("WARNING", 'a "message"', fields);
    assert.equal(
      lines.at(-1),
      JSON.stringify({ time: at.toISOString(), level: "WARNING", msg: 'a "message"', ...fields }),
    );
  }
  const clocked = createLogger({ write: (l) => lines.push(l) });
  const before = Date.now();
  clocked.log("INFO", "now");
  const time = Date.parse(JSON.parse(lines.at(-1)!).time);
  assert.ok(time >= before && time <= Date.now());
});
