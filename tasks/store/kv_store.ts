/**
 * The Deno KV backend of the artifact store. A KV value holds 64 KiB at most,
 * so a blob is split into chunks stored under
 * `[prefix, "chunk", key, writeId, i]`, then a manifest
 * `{writeId, chunks, size, sha256, updatedAt}` is written under
 * `[prefix, "manifest", key]` last, so a reader never sees half a blob. The
 * chunks of the replaced version are deleted once the manifest has moved; a
 * reader that loses them to a concurrent writer reads the new manifest again.
 *
 * @module
 */

import { type ArtifactStat, type ArtifactStore, normalizePath, sha256Hex, validateKey, validatePrefix } from "./mod.ts";

/** Default chunk size: below the 64 KiB value limit with room for the encoding. */
const DEFAULT_CHUNK_SIZE = 60_000;
/** Largest chunk size accepted (a KV value holds 65,536 bytes, encoding included). */
const MAX_CHUNK_SIZE = 65_000;
/** Bytes of chunk data per atomic commit (KV allows 800 KiB of mutations per commit). */
const MAX_BATCH_BYTES = 500_000;
/** Mutations per atomic commit when deleting (KV allows 1000). */
const MAX_BATCH_MUTATIONS = 500;
/** How many times `get` reads a new manifest after its chunks vanished. */
const READ_ATTEMPTS = 20;
/** How long one KV operation keeps retrying while another process holds SQLite's write lock. */
const BUSY_TIMEOUT_MS = 10_000;

/**
 * Runs a KV operation, again after a short randomized backoff while SQLite answers "database is
 * locked" (another process sharing the database file is writing): a busy transaction did not
 * commit, so running it again is safe. Other errors, and a lock held past
 * {@link BUSY_TIMEOUT_MS}, are thrown.
 */
export async function retryBusy<T>(op: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let attempt = 0;; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof Error && e.message.includes("database is locked")) || Date.now() >= deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, 2 ** attempt) * (0.5 + Math.random())));
    }
  }
}

/** The manifest of one stored blob. */
interface Manifest {
  writeId: string;
  chunks: number;
  size: number;
  sha256: string;
  updatedAt: string;
}

function isManifest(v: unknown): v is Manifest {
  if (typeof v !== "object" || v === null) return false;
  const m = v as Record<string, unknown>;
  return typeof m.writeId === "string" && typeof m.chunks === "number" && typeof m.size === "number" &&
    typeof m.sha256 === "string" && typeof m.updatedAt === "string";
}

/** How a {@link KvStore} lays out its keys. */
export interface KvStoreOptions {
  /** First part of every KV key the store writes (default `"artifact_store"`). */
  prefix?: string;
  /** Bytes per chunk, 1 to 65,000 (default 60,000). */
  chunkSize?: number;
  /** Whether {@link KvStore.close} closes the database too (default `false`). */
  closeKv?: boolean;
}

/** Which abandoned chunks {@link KvStore.sweep} deletes. */
export interface SweepOptions {
  /** Only writes started at least this long ago, in milliseconds (default one hour), so running writers are spared. */
  olderThanMs?: number;
}

/** A new write id, starting with the time so that {@link KvStore.sweep} can tell abandoned writes from running ones. */
function newWriteId(): string {
  return `${Date.now().toString(36).padStart(10, "0")}-${crypto.randomUUID()}`;
}

function writeIdTime(writeId: string): number {
  const t = parseInt(writeId.split("-")[0], 36);
  return Number.isFinite(t) ? t : 0;
}

/** Artifacts in Deno KV, chunked, with a manifest written last. */
export class KvStore implements ArtifactStore {
  /** The backend's name. */
  readonly backend = "kv" as const;
  /** The database. */
  readonly kv: Deno.Kv;
  /** First part of every KV key the store writes. */
  readonly prefix: string;
  /** Bytes per chunk. */
  readonly chunkSize: number;
  readonly #closeKv: boolean;
  #closed = false;

  /**
   * Creates a store over an open database.
   *
   * @throws {RangeError} when `options.chunkSize` is not an integer from 1 to 65,000.
   * @throws {TypeError} when `options.prefix` is empty.
   */
  constructor(kv: Deno.Kv, options: KvStoreOptions = {}) {
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
      throw new RangeError(`Invalid chunkSize ${chunkSize}: expected an integer from 1 to ${MAX_CHUNK_SIZE}`);
    }
    const prefix = options.prefix ?? "artifact_store";
    if (typeof prefix !== "string" || prefix === "") {
      throw new TypeError(`Invalid KV prefix ${JSON.stringify(prefix)}: must not be empty`);
    }
    this.kv = kv;
    this.prefix = prefix;
    this.chunkSize = chunkSize;
    this.#closeKv = options.closeKv ?? false;
  }

  /**
   * Opens the database at `path` (a file path, `":memory:"`, or `undefined` for
   * the default database) and returns a store that closes it on {@link close}.
   */
  static async open(path?: string, options: Omit<KvStoreOptions, "closeKv"> = {}): Promise<KvStore> {
    const kv = await Deno.openKv(path);
    return new KvStore(kv, { ...options, closeKv: true });
  }

  #manifestKey(key: string): Deno.KvKey {
    return [this.prefix, "manifest", key];
  }

  #chunkKey(key: string, writeId: string, i: number): Deno.KvKey {
    return [this.prefix, "chunk", key, writeId, i];
  }

  async #readManifest(key: string): Promise<Deno.KvEntryMaybe<Manifest>> {
    const entry = await retryBusy(() => this.kv.get<Manifest>(this.#manifestKey(key)));
    if (entry.value !== null && !isManifest(entry.value)) {
      throw new Error(`Corrupt manifest for artifact ${key} in Deno KV: ${JSON.stringify(entry.value)}`);
    }
    return entry;
  }

  async #deleteChunks(key: string, writeId: string, chunks: number): Promise<void> {
    for (let start = 0; start < chunks; start += MAX_BATCH_MUTATIONS) {
      const op = this.kv.atomic();
      for (let i = start; i < Math.min(chunks, start + MAX_BATCH_MUTATIONS); i++) {
        op.delete(this.#chunkKey(key, writeId, i));
      }
      await retryBusy(() => op.commit());
    }
  }

  /**
   * Writes a private copy of `bytes` as chunks under a new write id; returns the manifest that
   * points to them (not yet stored).
   */
  async #writeChunks(key: string, bytes: Uint8Array): Promise<Manifest> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`Invalid value for artifact ${key}: expected a Uint8Array`);
    const data = bytes.slice(); // a private copy: the caller may change its buffer while we write
    const writeId = newWriteId();
    const chunks = Math.ceil(data.length / this.chunkSize);
    const perBatch = Math.max(1, Math.floor(MAX_BATCH_BYTES / this.chunkSize));
    for (let start = 0; start < chunks; start += perBatch) {
      const op = this.kv.atomic();
      for (let i = start; i < Math.min(chunks, start + perBatch); i++) {
        op.set(this.#chunkKey(key, writeId, i), data.subarray(i * this.chunkSize, (i + 1) * this.chunkSize));
      }
      if (!(await retryBusy(() => op.commit())).ok) {
        throw new Error(`Cannot write the chunks of artifact ${key} to Deno KV`);
      }
    }
    return { writeId, chunks, size: data.length, sha256: await sha256Hex(data), updatedAt: new Date().toISOString() };
  }

  /** Moves the manifest of `key` to `manifest` if it is still `old`; returns whether it did. */
  async #swapManifest(key: string, old: Deno.KvEntryMaybe<Manifest>, manifest: Manifest): Promise<boolean> {
    const op = this.kv.atomic().check(old).set(this.#manifestKey(key), manifest);
    return (await retryBusy(() => op.commit())).ok;
  }

  /**
   * Writes the chunks under a new write id, then moves the manifest to them in
   * one atomic commit, then deletes the chunks of the version it replaced.
   */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    validateKey(key);
    const manifest = await this.#writeChunks(key, bytes);
    for (;;) {
      const old = await this.#readManifest(key);
      const ok = await this.#swapManifest(key, old, manifest);
      if (!ok) continue; // another writer moved the manifest: the version we replace is theirs
      if (old.value !== null) await this.#deleteChunks(key, old.value.writeId, old.value.chunks);
      return;
    }
  }

  /** Returns the key of a configured path: the path as written, without a leading `/` or `./`. */
  keyOf(path: string): string {
    return validateKey(normalizePath(path).replace(/^\//, ""));
  }

  /** Compare-and-swap: writes only when the stored SHA-256 is `expectedSha256` (null: absent). */
  async putIfMatch(key: string, bytes: Uint8Array, expectedSha256: string | null): Promise<boolean> {
    validateKey(key);
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`Invalid value for artifact ${key}: expected a Uint8Array`);
    const current = await this.#readManifest(key);
    if ((current.value?.sha256 ?? null) !== expectedSha256) return false;
    const manifest = await this.#writeChunks(key, bytes);
    if (!(await this.#swapManifest(key, current, manifest))) {
      await this.#deleteChunks(key, manifest.writeId, manifest.chunks);
      return false;
    }
    if (current.value !== null) await this.#deleteChunks(key, current.value.writeId, current.value.chunks);
    return true;
  }

  /**
   * Reads the manifest, then the chunks of its write id, and checks their
   * count, size and SHA-256. When a concurrent writer replaced the blob and
   * deleted those chunks, reads the new manifest and tries again.
   *
   * @throws {Error} naming the key when the stored blob is damaged or keeps changing.
   */
  async get(key: string): Promise<Uint8Array | null> {
    validateKey(key);
    let lastProblem = "";
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const entry = await this.#readManifest(key);
      const m = entry.value;
      if (m === null) return null;
      const { out, offset, count, fits } = await retryBusy(() => this.#readChunks(key, m));
      if (fits && count === m.chunks && offset === m.size && (await sha256Hex(out)) === m.sha256) return out;
      lastProblem = fits
        ? `read ${count} of ${m.chunks} chunks, ${offset} of ${m.size} bytes`
        : `chunk ${count} does not fit`;
      const now = await retryBusy(() => this.kv.get(this.#manifestKey(key)));
      if (now.versionstamp === entry.versionstamp) {
        throw new Error(`Artifact ${key} in Deno KV is damaged (write ${m.writeId}: ${lastProblem})`);
      }
      // The blob was replaced while we read it: back off a little, then read the new version.
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 ** attempt)));
    }
    throw new Error(
      `Cannot read artifact ${key} from Deno KV: it changed on each of ${READ_ATTEMPTS} attempts (${lastProblem})`,
    );
  }

  /** Reads the chunks `m` points to, in order, stopping at the first that does not fit. */
  async #readChunks(
    key: string,
    m: Manifest,
  ): Promise<{ out: Uint8Array; offset: number; count: number; fits: boolean }> {
    const out = new Uint8Array(m.size);
    let offset = 0, count = 0;
    const iter = this.kv.list<Uint8Array>({ prefix: [this.prefix, "chunk", key, m.writeId] }, { batchSize: 16 });
    for await (const chunk of iter) {
      const v = chunk.value;
      if (!(v instanceof Uint8Array) || chunk.key.at(-1) !== count || offset + v.length > m.size) {
        return { out, offset, count, fits: false };
      }
      out.set(v, offset);
      offset += v.length;
      count++;
    }
    return { out, offset, count, fits: true };
  }

  /** Returns whether a manifest exists for `key`. */
  async has(key: string): Promise<boolean> {
    validateKey(key);
    return (await this.#readManifest(key)).value !== null;
  }

  /** Deletes the manifest, then the chunks it pointed to; returns whether `key` existed. */
  async delete(key: string): Promise<boolean> {
    validateKey(key);
    for (;;) {
      const old = await this.#readManifest(key);
      if (old.value === null) return false;
      const op = this.kv.atomic().check(old).delete(this.#manifestKey(key));
      if (!(await retryBusy(() => op.commit())).ok) continue;
      await this.#deleteChunks(key, old.value.writeId, old.value.chunks);
      return true;
    }
  }

  /** Lists the manifests whose key starts with `prefix`, sorted. */
  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    const base: Deno.KvKey = [this.prefix, "manifest"];
    const selector: Deno.KvListSelector = prefix === ""
      ? { prefix: base }
      : { start: [...base, prefix], end: [...base, prefix + "\u{10ffff}"] };
    return await retryBusy(async () => {
      const out: string[] = [];
      for await (const entry of this.kv.list(selector, { batchSize: 500 })) {
        const k = entry.key[2];
        if (typeof k === "string" && k.startsWith(prefix)) out.push(k);
      }
      return out.sort();
    });
  }

  /** Returns the size, SHA-256 and write time recorded in the manifest. */
  async stat(key: string): Promise<ArtifactStat | null> {
    validateKey(key);
    const m = (await this.#readManifest(key)).value;
    return m === null ? null : { size: m.size, sha256: m.sha256, updatedAt: new Date(m.updatedAt) };
  }

  /**
   * Deletes chunks that no manifest points to, left by writers killed before
   * their manifest commit, when their write started at least
   * `options.olderThanMs` ago (a `put` is assumed to take less than that).
   * Returns the number of chunks deleted.
   *
   * @throws {RangeError} when `options.olderThanMs` is negative.
   */
  async sweep(options: SweepOptions = {}): Promise<number> {
    const olderThanMs = options.olderThanMs ?? 3_600_000;
    if (!(olderThanMs >= 0)) throw new RangeError(`Invalid olderThanMs ${olderThanMs}: must be zero or more`);
    const cutoff = Date.now() - olderThanMs;
    const old = await retryBusy(async () => {
      const byKey = new Map<string, Deno.KvKey[]>();
      for await (const e of this.kv.list({ prefix: [this.prefix, "chunk"] }, { batchSize: 100 })) {
        const [, , key, writeId] = e.key;
        if (typeof key !== "string" || typeof writeId !== "string" || writeIdTime(writeId) > cutoff) continue;
        const keys = byKey.get(key) ?? [];
        keys.push(e.key);
        byKey.set(key, keys);
      }
      return byKey;
    });
    let deleted = 0;
    for (const [key, chunkKeys] of old) {
      const manifest = await this.#readManifest(key);
      const abandoned = chunkKeys.filter((k) => k[3] !== manifest.value?.writeId);
      for (let start = 0; start < abandoned.length; start += MAX_BATCH_MUTATIONS) {
        const op = this.kv.atomic().check(manifest);
        for (const k of abandoned.slice(start, start + MAX_BATCH_MUTATIONS)) op.delete(k);
        if (!(await retryBusy(() => op.commit())).ok) break; // the manifest moved meanwhile: leave this key for the next sweep
        deleted += Math.min(MAX_BATCH_MUTATIONS, abandoned.length - start);
      }
    }
    return deleted;
  }

  /** Closes the database when the store opened it ({@link KvStore.open}) or was told to; closing twice is harmless. */
  close(): void {
    if (this.#closeKv && !this.#closed) this.kv.close();
    this.#closed = true;
  }
}
