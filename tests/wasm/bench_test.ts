import assert from "node:assert/strict";
import { benchKernels, syntheticGrid } from "../../wasm/bench.ts";

Deno.test("benchKernels() times every implementation and finds the outputs equal on a small grid", () => {
  const figures = benchKernels(300, 90, { chunkRows: 10_000, runs: 1 });
  assert.equal(figures.rows, 27_000);
  for (const kernel of [figures.rolling, figures.labels]) {
    assert.equal(kernel.mismatches, 0);
    assert.ok(kernel.wasm_ms > 0 && kernel.ts_ms > 0 && kernel.reference_ms! > 0);
    assert.ok(kernel.speedup_vs_ts > 0 && kernel.speedup_vs_reference! > 0);
  }
});

Deno.test("syntheticGrid() builds users of equal length with activity gaps and missing quizzes", () => {
  const grid = syntheticGrid(50, 40);
  assert.deepEqual([...grid.groupStarts.slice(0, 3)], [0, 40, 80]);
  assert.equal(grid.groupStarts[50], 2000);
  const active = grid.active;
  let activeDays = 0;
  for (const x of active) activeDays += x;
  assert.ok(activeDays > 100 && activeDays < 1900, `active days ${activeDays}`);
  assert.ok(grid.quiz.some(Number.isNaN) && grid.quiz.some((x) => !Number.isNaN(x)));
});
