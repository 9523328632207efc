import assert from "node:assert/strict";
import {
  bucketLabels,
  buildProfile,
  checkProfile,
  compareToProfile,
  DriftCounter,
  driftStatus,
  OTHER_CATEGORY,
  quantileEdges,
  type ReferenceProfile,
  shiftUserDaily,
} from "../../pipeline/drift.ts";
import type { Preprocessor } from "../../pipeline/preprocess.ts";
import { Random } from "../../pipeline/random.ts";
import { type Column, getColumn, makeTable, type Table } from "../../pipeline/table.ts";

const THRESHOLDS = { warn: 0.1, fail: 0.25 };

const PRE: Preprocessor = {
  numeric: [{ name: "a", mean: 0, scale: 1 }],
  categorical: [{ name: "plan", categories: ["free", "missing", "paid"] }],
  features: [],
  dropped: [],
};

function table(a: Float64Array, plan: { codes: number[]; dictionary: string[] }, dates?: number[]): Table {
  const cols: [string, Column][] = [
    ["a", { type: "f64", data: a }],
    ["plan", { type: "dict", codes: Int32Array.from(plan.codes), dictionary: plan.dictionary }],
  ];
  if (dates) cols.push(["as_of_date", { type: "date", data: Int32Array.from(dates) }]);
  return makeTable(cols);
}

const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/** The data of the numpy cross-check: x_i = (37 i mod 101) / 7, every 50th missing; y_j = (53 j mod 89) / 5, every 30th missing. */
function numpyCase(): { train: Table; current: Table } {
  const x = Float64Array.from({ length: 500 }, (_, i) => i % 50 === 0 ? NaN : ((i * 37) % 101) / 7);
  const y = Float64Array.from({ length: 300 }, (_, j) => j % 30 === 0 ? NaN : ((j * 53) % 89) / 5);
  const plan = (n: number) => ({ codes: Array.from({ length: n }, (_, i) => i % 3 - 1), dictionary: ["free", "paid"] });
  return {
    train: table(x, plan(500), Array.from({ length: 500 }, (_, i) => 20454 + (i % 40))),
    current: table(y, plan(300)),
  };
}

Deno.test("buildProfile and the PSI agree with numpy on quantile edges, bucket shares and the index", () => {
  const { train, current } = numpyCase();
  const profile = buildProfile(PRE, train, { rows: all(500) });
  const a = profile.features[0];
  assert.equal(a.kind, "numeric");
  // numpy: np.quantile(nan_to_num(x), arange(11) / 10); buckets by searchsorted(edges[1:-1], v, side="right").
  const edges = [
    0.0,
    1.1428571428571428,
    2.5714285714285716,
    4.099999999999999,
    5.571428571428571,
    7.0,
    8.428571428571429,
    10.0,
    11.428571428571429,
    12.857142857142858,
    14.285714285714286,
  ];
  if (a.kind !== "numeric") throw new Error("unreachable");
  a.edges.forEach((e, i) => assert.ok(Math.abs(e - edges[i]) <= 1e-12, `edge ${i}: ${e} vs ${edges[i]}`));
  assert.deepEqual(a.shares.map((s) => Math.round(s * 1000) / 1000), [
    0.098,
    0.098,
    0.104,
    0.098,
    0.1,
    0.096,
    0.104,
    0.1,
    0.098,
    0.104,
  ]);
  const result = compareToProfile(profile, current, { thresholds: THRESHOLDS, features: ["a"] });
  assert.ok(Math.abs(result.features[0].psi - 0.16884552196893246) < 1e-12, `${result.features[0].psi}`);
  assert.equal(result.status, "WARN");
  assert.equal(result.rows, 300);
  assert.deepEqual(profile.train_dates, ["2026-01-01", "2026-02-09"]);
});

Deno.test("the training rows compared with their own profile have a PSI of 0 for every input", () => {
  const { train } = numpyCase();
  const profile = buildProfile(PRE, train, { rows: all(500) });
  const result = compareToProfile(profile, train, { thresholds: THRESHOLDS });
  assert.equal(result.status, "OK");
  assert.deepEqual(result.features.map((f) => [f.name, f.psi]), [["a", 0], ["plan", 0]]);
});

Deno.test('buildProfile profiles only the given rows and reads a missing category as "missing"', () => {
  const t = table(Float64Array.from([1, 2, 3, 100, 200]), { codes: [0, -1, 1, 1, 1], dictionary: ["free", "paid"] });
  const profile = buildProfile(PRE, t, { rows: Int32Array.from([0, 1, 2]) });
  assert.equal(profile.rows, 3);
  const [a, plan] = profile.features;
  assert.equal(a.kind === "numeric" && a.edges.at(-1), 3);
  assert.deepEqual(plan.kind === "categorical" && plan.categories, ["free", "missing", "paid"]);
  assert.deepEqual(plan.shares, [1 / 3, 1 / 3, 1 / 3, 0]);
  assert.equal(profile.train_dates, null);
  assert.deepEqual(JSON.parse(JSON.stringify(profile)), profile);
  assert.throws(() => buildProfile(PRE, t, { rows: new Int32Array(0) }), /zero training rows/);
  assert.throws(() => buildProfile(PRE, t, { rows: Int32Array.from([7]) }), /Row index 7 is outside/);
  const noPlan = makeTable([["a", { type: "f64", data: new Float64Array(2) }]]);
  assert.throws(() => buildProfile(PRE, noPlan, { rows: all(2) }), /Missing categorical input column "plan"/);
});

Deno.test("an unseen category falls in the other bucket and raises the PSI", () => {
  const train = table(new Float64Array(4), { codes: [0, 1, 0, 1], dictionary: ["free", "paid"] });
  const profile = buildProfile(PRE, train, { rows: all(4) });
  const current = table(new Float64Array(4), { codes: [0, 1, 2, 2], dictionary: ["free", "paid", "gold"] });
  const r = compareToProfile(profile, current, { thresholds: THRESHOLDS, features: ["plan"] });
  const plan = r.features[0];
  assert.deepEqual(plan.buckets.map((b) => [b.bucket, b.current]), [
    ["free", 0.25],
    ["missing", 0],
    ["paid", 0.25],
    [OTHER_CATEGORY, 0.5],
  ]);
  assert.equal(plan.status, "FAIL");
});

Deno.test("a constant training feature gives equal edges, a PSI of 0 when unchanged and a finite FAIL when moved", () => {
  const train = table(new Float64Array(50).fill(5), { codes: new Array(50).fill(0), dictionary: ["free"] });
  const profile = buildProfile(PRE, train, { rows: all(50) });
  const a = profile.features[0];
  assert.deepEqual(a.kind === "numeric" && a.edges, new Array(11).fill(5));
  const same = compareToProfile(profile, train, { thresholds: THRESHOLDS, features: ["a"] });
  assert.equal(same.features[0].psi, 0);
  const moved = table(new Float64Array(50).fill(4), { codes: new Array(50).fill(0), dictionary: ["free"] });
  const r = compareToProfile(profile, moved, { thresholds: THRESHOLDS, features: ["a"] });
  assert.ok(Number.isFinite(r.features[0].psi) && r.features[0].psi > 10, `${r.features[0].psi}`);
  assert.equal(r.status, "FAIL");
});

Deno.test("values beyond the training range land in the open outer buckets instead of being dropped", () => {
  const { train } = numpyCase();
  const profile = buildProfile(PRE, train, { rows: all(500) });
  const far = table(Float64Array.from([1e6, 1e6, -1e6, 1e6]), { codes: [0, 0, 0, 0], dictionary: ["free"] });
  const r = compareToProfile(profile, far, { thresholds: THRESHOLDS, features: ["a"] });
  const shares = r.features[0].buckets.map((b) => b.current);
  assert.equal(shares[0], 0.25);
  assert.equal(shares[9], 0.75);
  assert.equal(r.status, "FAIL");
  assert.equal(r.worst_feature, "a");
  assert.equal(r.overall_max_psi, r.features[0].psi);
});

Deno.test("an unknown feature name is an error naming it, and empty current rows are an error", () => {
  const { train } = numpyCase();
  const profile = buildProfile(PRE, train, { rows: all(500) });
  assert.throws(
    () => new DriftCounter(profile, { features: ["a", "watch_minuts_7d"] }),
    (e: Error) => e instanceof RangeError && /"watch_minuts_7d"/.test(e.message) && /a, plan/.test(e.message),
  );
  const counter = new DriftCounter(profile);
  assert.throws(() => counter.finish(THRESHOLDS), /No current rows/);
  counter.add(table(new Float64Array(0), { codes: [], dictionary: [] }));
  assert.throws(() => counter.finish(THRESHOLDS), /No current rows/);
  assert.throws(() => counter.add(makeTable([["a", { type: "f64", data: new Float64Array(1) }]])), /"plan"/);
});

Deno.test("driftStatus is OK below warn, WARN from warn and FAIL from fail", () => {
  assert.equal(driftStatus(0.0999, THRESHOLDS), "OK");
  assert.equal(driftStatus(0.1, THRESHOLDS), "WARN");
  assert.equal(driftStatus(0.2499, THRESHOLDS), "WARN");
  assert.equal(driftStatus(0.25, THRESHOLDS), "FAIL");
  assert.throws(() => driftStatus(NaN, THRESHOLDS), RangeError);
  assert.throws(() => driftStatus(0.1, { warn: -1, fail: 0.2 }), RangeError);
});

Deno.test("the drift counter gives the same counts chunk by chunk as at once, in Wasm and in TypeScript", () => {
  const rnd = new Random(3);
  const n = 9000;
  const train = table(
    Float64Array.from({ length: n }, () => rnd.uniform() < 0.1 ? NaN : Math.floor(rnd.uniform() * 30)),
    { codes: Array.from({ length: n }, () => Math.floor(rnd.uniform() * 4) - 1), dictionary: ["free", "paid", "x"] },
  );
  const profile = buildProfile(PRE, train, { rows: all(n) });
  const current = table(
    Float64Array.from({ length: n }, () => rnd.uniform() < 0.2 ? NaN : Math.floor(rnd.uniform() * 40) - 5),
    { codes: Array.from({ length: n }, () => Math.floor(rnd.uniform() * 4) - 1), dictionary: ["paid", "free", "y"] },
  );
  const once = compareToProfile(profile, current, { thresholds: THRESHOLDS });
  const ts = compareToProfile(profile, current, { thresholds: THRESHOLDS, impl: "typescript" });
  const chunked = new DriftCounter(profile);
  for (let s = 0; s < n; s += 2500) {
    const idx = Int32Array.from({ length: Math.min(2500, n - s) }, (_, i) => s + i);
    chunked.add(table(
      Float64Array.from(idx, (i) => getColumn(current, "a", "f64").data[i]),
      { codes: Array.from(idx, (i) => getColumn(current, "plan", "dict").codes[i]), dictionary: ["paid", "free", "y"] },
    ));
  }
  const oneShot = new DriftCounter(profile);
  oneShot.add(current);
  assert.deepEqual(chunked.counts(), oneShot.counts());
  assert.equal(chunked.rows, n);
  const c = chunked.finish(THRESHOLDS);
  assert.deepEqual(c, once);
  assert.deepEqual(ts.features.map((f) => f.buckets), once.features.map((f) => f.buckets));
  ts.features.forEach((f, i) => assert.ok(Math.abs(f.psi - once.features[i].psi) < 1e-12));
  chunked.reset();
  assert.equal(chunked.rows, 0);
});

Deno.test("quantileEdges equals numpy's linear interpolation on the sorted values", () => {
  const rnd = new Random(5);
  for (let t = 0; t < 300; t++) {
    const n = 1 + Math.floor(rnd.uniform() * 400);
    const span = t % 2 ? 4 : 1e6;
    const v = Float64Array.from(
      { length: n },
      () => Math.floor(rnd.uniform() * span) + (rnd.uniform() < 0.1 ? 0.5 : 0),
    );
    const s = v.slice().sort();
    const expected = Array.from({ length: 11 }, (_, j) => {
      const pos = (j / 10) * (n - 1), i = Math.floor(pos), f = pos - i;
      return i + 1 < n && f > 0 ? s[i] + (s[i + 1] - s[i]) * f : s[i];
    });
    assert.deepEqual(quantileEdges(v), expected);
  }
  assert.throws(() => quantileEdges(new Float64Array(0)), /zero values/);
  assert.throws(() => quantileEdges(Float64Array.from([1, NaN])), /Value 1 is NaN/);
});

Deno.test("bucketLabels names the ranges with open outer buckets and the categories with the other bucket", () => {
  const { train } = numpyCase();
  const profile = buildProfile(PRE, train, { rows: all(500) });
  const labels = bucketLabels(profile.features[0]);
  assert.equal(labels.length, 10);
  assert.equal(labels[0], "< 1.14286");
  assert.equal(labels[1], "[1.14286, 2.57143)");
  assert.equal(labels[9], "≥ 12.8571");
  assert.deepEqual(bucketLabels(profile.features[1]), ["free", "missing", "paid", OTHER_CATEGORY]);
});

Deno.test("checkProfile accepts a stored profile and names what is wrong with a broken one", () => {
  const { train } = numpyCase();
  const profile: ReferenceProfile = JSON.parse(JSON.stringify(buildProfile(PRE, train, { rows: all(500) })));
  assert.deepEqual(checkProfile(profile), profile);
  const broken = (f: (p: ReferenceProfile) => void) => {
    const p = structuredClone(profile);
    f(p);
    return () => checkProfile(p);
  };
  assert.throws(broken((p) => p.schema_version = 9), /schema_version is 9/);
  assert.throws(broken((p) => p.features = []), /non-empty/);
  assert.throws(broken((p) => (p.features[0] as { edges: number[] }).edges.reverse()), /features\[0\] \("a"\)\.edges/);
  assert.throws(broken((p) => p.features[1].shares.pop()), /features\[1\] \("plan"\)\.shares must be 4 shares/);
  assert.throws(broken((p) => p.features[1].name = "a"), /listed twice/);
  assert.throws(() => checkProfile(null), /not an object/);
});

/** A user_daily-like grid: 3 users × 40 days with the columns the demo shift touches. */
function grid(): Table {
  const rnd = new Random(9);
  const n = 120;
  const logins = Int32Array.from({ length: n }, () => rnd.uniform() < 0.5 ? 0 : 1 + Math.floor(rnd.uniform() * 3));
  const quizN = Int32Array.from(logins, (l) => l > 0 && rnd.uniform() < 0.5 ? 1 : 0);
  return makeTable([
    ["user_id", { type: "i32", data: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 40)) }],
    ["as_of_date", { type: "date", data: Int32Array.from({ length: n }, (_, i) => 20454 + (i % 40)) }],
    ["logins_count", { type: "i32", data: logins }],
    ["watch_minutes_sum", { type: "f64", data: Float64Array.from(logins, (l) => l * 25) }],
    ["quiz_attempts_count", { type: "i32", data: quizN }],
    ["quiz_avg_score", { type: "f64", data: Float64Array.from(quizN, (q) => q ? 70 : NaN) }],
    ["total_events", { type: "i32", data: Int32Array.from(logins, (l, i) => l * 2 + quizN[i]) }],
    ["is_active_day", { type: "i32", data: Int32Array.from(logins, (l) => l > 0 ? 1 : 0) }],
  ]);
}

Deno.test("shiftUserDaily raises sessions, watching and quiz attempts and lowers quiz scores in the latest days only", () => {
  const g = grid();
  const same = shiftUserDaily(g, { strength: 0 });
  for (const [name, c] of g.columns) assert.deepEqual(same.columns.get(name), c, name);
  const s = shiftUserDaily(g, { strength: 1, days: 10 });
  assert.deepEqual(shiftUserDaily(g, { strength: 1, days: 10 }), s, "deterministic");
  const col = (t: Table, name: string) => (t.columns.get(name) as { data: Float64Array | Int32Array }).data;
  const date = col(g, "as_of_date");
  let changed = 0;
  for (let r = 0; r < g.length; r++) {
    const late = date[r] >= 20454 + 30;
    for (const name of ["logins_count", "watch_minutes_sum", "quiz_attempts_count", "total_events"]) {
      const before = col(g, name)[r], after = col(s, name)[r];
      if (!late) assert.equal(after, before, `${name} row ${r} is before the shifted days`);
      else assert.ok(after >= before, `${name} row ${r} did not go down`);
    }
    const added = col(s, "logins_count")[r] - col(g, "logins_count")[r];
    assert.equal(col(s, "total_events")[r] - col(g, "total_events")[r], 3 * added);
    assert.equal(col(s, "quiz_attempts_count")[r] - col(g, "quiz_attempts_count")[r], added);
    assert.equal(col(s, "is_active_day")[r], col(s, "total_events")[r] > 0 ? 1 : 0);
    if (late && col(s, "quiz_attempts_count")[r] > 0) assert.ok(col(s, "quiz_avg_score")[r] <= 45);
    if (added > 0) changed++;
  }
  assert.ok(changed > 10, `${changed} rows got extra sessions`);
  assert.throws(() => shiftUserDaily(g, { strength: -1 }), /strength must be a finite number ≥ 0/);
  assert.throws(() => shiftUserDaily(g, { strength: 1, days: 0 }), /days must be a positive integer/);
  assert.throws(
    () => shiftUserDaily(makeTable([["x", { type: "i32", data: new Int32Array(1) }]]), { strength: 1 }),
    TypeError,
  );
});
