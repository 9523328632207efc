/**
 * The filesystem backend of the artifact store: each key is a file under a
 * root folder, written with `atomicWrite` (temporary file, fsync, rename).
 *
 * @module
 */

import { atomicWrite, dirname, joinPath } from "../io.ts";
import {
  type ArtifactStat,
  type ArtifactStore,
  LOCK_NAME_PATTERN,
  normalizePath,
  sha256Hex,
  TEMP_NAME_PATTERN,
  validateKey,
  validatePrefix,
} from "./mod.ts";

/** How long {@link FsStore.putIfMatch} waits for a lock before failing. */
export const LOCK_WAIT_MS = 10_000;
/** Age after which a lock file is taken as left by a killed writer. */
export const STALE_LOCK_MS = 30_000;

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/**
 * Artifacts as files under a root folder: key `a/b.json` is the file
 * `<root>/a/b.json`. Temporary files left by killed writers (`*.tmp-<pid>-<hex>`)
 * are never listed.
 */
export class FsStore implements ArtifactStore {
  /** The backend's name. */
  readonly backend = "fs" as const;
  /** The root folder. */
  readonly root: string;

  /**
   * Creates a store over `root` (created on the first `put`).
   *
   * @throws {TypeError} when `root` is empty.
   */
  constructor(root: string = ".") {
    if (typeof root !== "string" || root === "") {
      throw new TypeError(`Invalid store root ${JSON.stringify(root)}: must be a folder path`);
    }
    this.root = root;
  }

  /**
   * Returns the key of a path: resolved against the working folder, then taken
   * relative to the root.
   *
   * @throws {TypeError} when the path is outside the root.
   */
  keyOf(path: string): string {
    const abs = normalizePath(path.startsWith("/") ? path : `${Deno.cwd()}/${path}`);
    const root = normalizePath(this.root.startsWith("/") ? this.root : `${Deno.cwd()}/${this.root}`);
    const base = root === "/" ? "/" : `${root}/`;
    if (!abs.startsWith(base)) throw new TypeError(`Path ${path} is outside the store's root ${this.root}`);
    return validateKey(abs.slice(base.length));
  }

  /** Returns the file path of `key`. */
  pathOf(key: string): string {
    return joinPath(this.root, validateKey(key));
  }

  /** Writes the file of `key` atomically (temporary file, fsync, rename). */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`Invalid value for artifact ${key}: expected a Uint8Array`);
    await atomicWrite(path, (write) => write(bytes));
  }

  /**
   * Compare-and-swap under a lock file (`<file>.lock`, created exclusively):
   * writes only when the file's SHA-256 is `expectedSha256` (null: absent).
   * A lock older than {@link STALE_LOCK_MS} is taken as left by a killed writer and broken.
   *
   * @throws {Error} when the lock cannot be taken within {@link LOCK_WAIT_MS}.
   */
  async putIfMatch(key: string, bytes: Uint8Array, expectedSha256: string | null): Promise<boolean> {
    const path = this.pathOf(key);
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`Invalid value for artifact ${key}: expected a Uint8Array`);
    const lock = `${path}.lock`;
    await Deno.mkdir(dirname(path), { recursive: true });
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const f = await Deno.open(lock, { write: true, createNew: true });
        await f.write(new TextEncoder().encode(`${Deno.pid}\n`));
        f.close();
        break;
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        const info = await statOrNull(lock);
        if (info?.mtime && Date.now() - info.mtime.getTime() > STALE_LOCK_MS) {
          await Deno.remove(lock).catch(() => {});
          continue;
        }
        if (Date.now() > deadline) throw new Error(`Cannot lock artifact ${key}: ${lock} is held by another writer`);
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      }
    }
    try {
      const current = await this.get(key);
      const sha = current === null ? null : await sha256Hex(current);
      if (sha !== expectedSha256) return false;
      await atomicWrite(path, (write) => write(bytes));
      return true;
    } finally {
      await Deno.remove(lock).catch(() => {});
    }
  }

  /** Reads the file of `key`, or returns `null` when there is no such file. */
  async get(key: string): Promise<Uint8Array | null> {
    const path = this.pathOf(key);
    try {
      return await Deno.readFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
      if (e instanceof Deno.errors.IsADirectory) return null;
      throw e;
    }
  }

  /** Returns whether the file of `key` exists (a folder does not count). */
  async has(key: string): Promise<boolean> {
    return (await statOrNull(this.pathOf(key)))?.isFile ?? false;
  }

  /** Removes the file of `key`; returns whether it existed. Empty folders stay. */
  async delete(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    const info = await statOrNull(path);
    if (info === null || !info.isFile) return false;
    try {
      await Deno.remove(path);
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  }

  /** Walks the folders under `prefix` and returns the keys of the files found, sorted, skipping temporary files. */
  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    const slash = prefix.lastIndexOf("/");
    const base = slash < 0 ? "" : prefix.slice(0, slash);
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      const dir = rel === "" ? this.root : joinPath(this.root, rel);
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return;
        throw e;
      }
      for (const entry of entries) {
        const key = rel === "" ? entry.name : `${rel}/${entry.name}`;
        // Only descend into folders that can hold keys with the prefix.
        if (!key.startsWith(prefix) && !prefix.startsWith(key + "/")) continue;
        let { isFile, isDirectory } = entry;
        if (entry.isSymlink) {
          const target = await statOrNull(joinPath(this.root, key));
          isFile = target?.isFile ?? false;
          isDirectory = target?.isDirectory ?? false;
        }
        if (isDirectory) await walk(key);
        else if (
          isFile && key.startsWith(prefix) && !TEMP_NAME_PATTERN.test(entry.name) && !LOCK_NAME_PATTERN.test(entry.name)
        ) {
          out.push(key);
        }
      }
    };
    await walk(base);
    return out.sort();
  }

  /** Returns the file's size and modification time; `sha256` is not recorded for files. */
  async stat(key: string): Promise<ArtifactStat | null> {
    const info = await statOrNull(this.pathOf(key));
    if (info === null || !info.isFile) return null;
    return { size: info.size, updatedAt: info.mtime ?? new Date(0) };
  }

  /** Does nothing: files need no closing. */
  close(): void {}
}
