/**
 * Builds every Wasm module with AssemblyScript: each `wasm/assembly/<name>.ts`
 * (files starting with `_` are shared sources, not modules) becomes
 * `wasm/<name>.wasm`.
 *
 * `deno run -A wasm/build.ts` rebuilds the committed binary; `deno run -A wasm/build.ts --check`
 * rebuilds into a temporary file and exits 1 when it differs from the committed binary (CI).
 *
 * The compiler runs as its own Deno process with `--no-config --no-lock`, so that building never
 * touches the project's `deno.json` or `deno.lock`.
 *
 * @module
 */

/** The AssemblyScript compiler, pinned. */
export const ASC = "npm:assemblyscript@0.28.20/asc";

/**
 * The compiler flags. `--runtime stub`: no GC and no allocator in the module, the loader owns the
 * memory as an arena (see `assembly/core.ts`); `--enable simd`: the window kernels use v128;
 * `--noAssert`: the loader checks every input before a kernel runs.
 */
export const ASC_FLAGS: readonly string[] = ["-O3", "--runtime", "stub", "--enable", "simd", "--noAssert"];

const ASSEMBLY = new URL("./assembly/", import.meta.url).pathname;
const WASM_DIR = new URL("./", import.meta.url).pathname;

/** The module names: one per `assembly/<name>.ts` not starting with `_`, sorted. */
export function moduleNames(): string[] {
  return [...Deno.readDirSync(ASSEMBLY)]
    .filter((e) => e.isFile && e.name.endsWith(".ts") && !e.name.startsWith("_"))
    .map((e) => e.name.slice(0, -3))
    .sort();
}

/** Compiles module `name` into `outFile`; throws with the compiler's output when it fails. */
export async function buildModule(name: string, outFile: string): Promise<void> {
  const SOURCE = `${ASSEMBLY}${name}.ts`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", "--no-lock", ASC, SOURCE, "-o", outFile, ...ASC_FLAGS],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    const text = new TextDecoder().decode(result.stderr) + new TextDecoder().decode(result.stdout);
    throw new Error(`AssemblyScript failed on ${SOURCE}:\n${text}`);
  }
}

/** Returns true when two byte arrays are equal. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Rebuilds every module; with `--check`, compares with the committed binaries instead of replacing them. */
export async function main(args: readonly string[]): Promise<number> {
  let status = 0;
  for (const name of moduleNames()) status = Math.max(status, await buildOne(name, args.includes("--check")));
  return status;
}

async function buildOne(name: string, check: boolean): Promise<number> {
  const BINARY = `${WASM_DIR}${name}.wasm`;
  if (!check) {
    await buildModule(name, BINARY);
    console.log(`built ${BINARY}`);
    return 0;
  }
  const dir = await Deno.makeTempDir({ prefix: `${name}-wasm-` });
  try {
    const fresh = `${dir}/${name}.wasm`;
    await buildModule(name, fresh);
    let committed: Uint8Array;
    try {
      committed = await Deno.readFile(BINARY);
    } catch {
      console.error(`${BINARY} is missing: run deno run -A wasm/build.ts`);
      return 1;
    }
    if (!sameBytes(committed, await Deno.readFile(fresh))) {
      console.error(`${BINARY} is stale: run deno run -A wasm/build.ts and commit it`);
      return 1;
    }
    console.log(`${BINARY} is up to date`);
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
