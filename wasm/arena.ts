/**
 * The memory of a Wasm module built with `--runtime stub`, used as an arena:
 * the loader lays its regions out from the module's heap base for each call,
 * grows the memory when a layout does not fit (with headroom), and rebuilds
 * its typed-array views whenever growth has detached them. Shared by every
 * kernel loader.
 *
 * @module
 */

const PAGE = 65536;
const MAX_PAGES = 65536;

/** Byte offsets handed out from the start of an arena, 16-byte aligned. */
export class Layout {
  #end = 0;
  readonly #base: number;

  /** Creates a layout starting at absolute byte offset `base`. */
  constructor(base: number) {
    this.#base = base;
  }

  /** Reserves `bytes` and returns the absolute byte offset of the region. */
  take(bytes: number): number {
    const at = Math.ceil(this.#end / 16) * 16;
    this.#end = at + bytes;
    return this.#base + at;
  }

  /** Bytes laid out so far. */
  get size(): number {
    return this.#end;
  }
}

/** A module's linear memory as an arena with typed-array views over it. */
export class WasmArena {
  readonly #memory: WebAssembly.Memory;
  /** Absolute byte offset where the arena starts (the module's heap base). */
  readonly base: number;
  #buffer: ArrayBufferLike;
  /** Float64 view of the whole memory (valid until the next {@link WasmArena.reserve}). */
  f64: Float64Array;
  /** Int32 view of the whole memory. */
  i32: Int32Array;
  /** Float32 view of the whole memory. */
  f32: Float32Array;
  /** Uint8 view of the whole memory. */
  u8: Uint8Array;

  /** Wraps a module's memory; `base` is its heap base. */
  constructor(memory: WebAssembly.Memory, base: number) {
    this.#memory = memory;
    this.base = base;
    this.#buffer = memory.buffer;
    this.f64 = new Float64Array(this.#buffer);
    this.i32 = new Int32Array(this.#buffer);
    this.f32 = new Float32Array(this.#buffer);
    this.u8 = new Uint8Array(this.#buffer);
  }

  /** A fresh layout from the start of the arena. */
  layout(): Layout {
    return new Layout(this.base);
  }

  /**
   * Makes the arena at least `bytes` long (growing by 1/8 extra headroom) and
   * refreshes the views when growth detached them.
   *
   * @throws {RangeError} when more than 4 GiB would be needed.
   */
  reserve(bytes: number): void {
    const need = this.base + bytes;
    const have = this.#memory.buffer.byteLength;
    if (need > have) {
      const needPages = Math.ceil(need / PAGE);
      if (needPages > MAX_PAGES) {
        throw new RangeError(
          `The input needs ${Math.ceil(bytes / 2 ** 20)} MiB of Wasm memory, more than 4 GiB: pass fewer rows per call`,
        );
      }
      const target = Math.min(MAX_PAGES, Math.max(needPages, Math.ceil(needPages * 1.125)));
      this.#memory.grow(target - have / PAGE);
    }
    if (this.#memory.buffer !== this.#buffer) {
      this.#buffer = this.#memory.buffer;
      this.f64 = new Float64Array(this.#buffer);
      this.i32 = new Int32Array(this.#buffer);
      this.f32 = new Float32Array(this.#buffer);
      this.u8 = new Uint8Array(this.#buffer);
    }
  }

  /** Current size of the memory in bytes (grows, never shrinks). */
  get bytes(): number {
    return this.#memory.buffer.byteLength;
  }
}
