/**
 * The artifact store: one interface over two backends, files under a root
 * folder ({@link FsStore}) and Deno KV ({@link KvStore}, for Deno Deploy, which
 * has no writable disk). Keys are `/`-separated relative paths such as
 * `artifacts/models/baseline_logreg_20260101T000000Z/model.json`. Every `put`
 * is atomic: a reader sees the old value or the new one, never a mix.
 *
 * @module
 */

import type { Config } from "../../config/mod.ts";
import { FsStore } from "./fs_store.ts";
import { KvStore } from "./kv_store.ts";

export { FsStore } from "./fs_store.ts";
export { KvStore, type KvStoreOptions, retryBusy, type SweepOptions } from "./kv_store.ts";

/** What {@link ArtifactStore.stat} tells about a stored artifact. */
export interface ArtifactStat {
  /** Size in bytes. */
  size: number;
  /** SHA-256 of the content as lower-case hex, when the backend records it (KV does, files do not). */
  sha256?: string;
  /** When the artifact was last written. */
  updatedAt: Date;
}

/** A store of byte blobs under `/`-separated relative keys. */
export interface ArtifactStore {
  /** The backend's name, for logs. */
  readonly backend: "fs" | "kv";
  /**
   * Stores `bytes` under `key`, replacing any old value atomically.
   *
   * @throws {TypeError} naming the key when it is not a valid key.
   */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /**
   * Stores `bytes` under `key` only when the stored value is still the one the
   * caller read: its SHA-256 equals `expectedSha256` (`null`: nothing stored).
   * Returns false, writing nothing, when another writer changed it first.
   * Check and write are one atomic step across processes (KV: a versionstamp
   * check in the commit; filesystem: a lock file held while checking and renaming).
   */
  putIfMatch(key: string, bytes: Uint8Array, expectedSha256: string | null): Promise<boolean>;
  /** Returns the bytes stored under `key`, or `null` when there are none. */
  get(key: string): Promise<Uint8Array | null>;
  /**
   * Returns the key of a configured artifact path (e.g. `artifacts/models/x.json`
   * or `/data/artifacts/models/x.json`): the filesystem backend resolves it
   * against the working folder and its root, Deno KV uses it as written.
   */
  keyOf(path: string): string;
  /** Returns whether something is stored under `key`. */
  has(key: string): Promise<boolean>;
  /** Deletes `key`; returns whether it existed. */
  delete(key: string): Promise<boolean>;
  /**
   * Returns the stored keys that start with `prefix` (all keys for `""`), sorted.
   * A prefix ending in `/` lists a folder; `models/base` also matches `models/baseline.json`.
   */
  list(prefix: string): Promise<string[]>;
  /** Returns the size and modification time of `key`, or `null` when there is nothing stored. */
  stat(key: string): Promise<ArtifactStat | null>;
  /** Releases the backend's resources. The store cannot be used afterwards. */
  close(): void;
}

/** The longest key accepted, in UTF-8 bytes (Deno KV keys hold 2 KiB at most). */
export const MAX_KEY_BYTES = 1024;

/** Matches the temporary file names of `atomicWrite` in `tasks/io.ts` (`<name>.tmp-<pid>-<8 hex>`). */
export const TEMP_NAME_PATTERN: RegExp = /\.tmp-\d+-[0-9a-f]{8}$/;

/** Matches the lock files of `FsStore.putIfMatch` (`<name>.lock`): reserved, never keys. */
export const LOCK_NAME_PATTERN: RegExp = /\.lock$/;

function checkPath(what: string, value: string, allowTrailingSlash: boolean): void {
  const bad = (why: string) => new TypeError(`Invalid artifact ${what} ${JSON.stringify(value)}: ${why}`);
  if (value.startsWith("/")) throw bad("must be relative, not start with /");
  if (value.includes("\\")) throw bad("must use / as the separator, not a backslash");
  if (value.includes("\0")) throw bad("must not contain a NUL character");
  if (new TextEncoder().encode(value).length > MAX_KEY_BYTES) throw bad(`must be at most ${MAX_KEY_BYTES} bytes long`);
  const segments = value.split("/");
  if (allowTrailingSlash && segments.length > 1 && segments.at(-1) === "") segments.pop();
  for (const s of segments) {
    if (s === "") throw bad("must not contain an empty segment");
    if (s === "." || s === "..") throw bad(`must not contain a "${s}" segment`);
    if (TEMP_NAME_PATTERN.test(s)) throw bad("must not look like a temporary file name (*.tmp-<pid>-<hex>)");
    if (LOCK_NAME_PATTERN.test(s) && s === segments.at(-1) && what === "key") {
      throw bad("must not end in .lock (reserved)");
    }
  }
}

/**
 * Checks an artifact key and returns it: a non-empty `/`-separated relative
 * path without empty, `.` or `..` segments, backslashes or temporary-file names.
 *
 * @throws {TypeError} naming the key when it is invalid.
 */
export function validateKey(key: string): string {
  if (typeof key !== "string") throw new TypeError(`Invalid artifact key ${String(key)}: must be a string`);
  if (key === "") throw new TypeError(`Invalid artifact key "": must not be empty`);
  checkPath("key", key, false);
  return key;
}

/**
 * Checks a {@link ArtifactStore.list} prefix and returns it: `""`, or a key
 * that may end with `/`.
 *
 * @throws {TypeError} naming the prefix when it is invalid.
 */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== "string") throw new TypeError(`Invalid artifact prefix ${String(prefix)}: must be a string`);
  if (prefix !== "") checkPath("prefix", prefix, true);
  return prefix;
}

/** Returns the SHA-256 of `bytes` as lower-case hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Stores `value` as pretty-printed JSON with a trailing newline (the same bytes as `writeJsonAtomic`). */
export async function putJson(store: ArtifactStore, key: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new TypeError(`Cannot store artifact ${key} as JSON: the value is ${String(value)}`);
  await store.put(key, new TextEncoder().encode(text + "\n"));
}

/**
 * Reads the JSON document stored under `key`, or `null` when there is none.
 * The result is not validated: parse it with a schema when it matters.
 *
 * @throws {SyntaxError} naming the key when the bytes are not JSON.
 */
export async function getJson<T = unknown>(store: ArtifactStore, key: string): Promise<T | null> {
  const bytes = await store.get(key);
  if (bytes === null) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (e) {
    throw new SyntaxError(`Artifact ${key} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Normalises a `/`-separated path: drops `.` segments and empty segments, resolves `..`. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const s of path.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") out.pop();
    else out.push(s);
  }
  return (path.startsWith("/") ? "/" : "") + out.join("/");
}

/** How {@link openStore} opens the backend. */
export interface OpenStoreOptions {
  /** Root folder of the `fs` backend (default `/`, so any configured path, relative or absolute, is a key). */
  root?: string;
  /** Deno KV location for the `kv` backend; overrides `config.store.kv_path` when given. */
  kvPath?: string | null;
}

/**
 * Opens the store chosen by `config.store.backend`: files under `options.root`,
 * or the Deno KV database at `config.store.kv_path` (a path, `:memory:`, or
 * `null` for the default database).
 */
export async function openStore(
  config: Pick<Config, "store">,
  options: OpenStoreOptions = {},
): Promise<ArtifactStore> {
  switch (config.store.backend) {
    case "fs":
      return new FsStore(options.root ?? "/");
    case "kv": {
      const path = options.kvPath === undefined ? config.store.kv_path : options.kvPath;
      return await KvStore.open(path ?? undefined);
    }
    default:
      throw new RangeError(`Unknown store backend ${JSON.stringify(config.store.backend)}: expected fs or kv`);
  }
}
