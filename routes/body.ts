/**
 * Reading a JSON request body safely: the media type must be JSON (415
 * otherwise), the size is checked against the limit from `Content-Length`
 * before reading (413) and again while the body streams in, so a body without
 * a length or with a false one cannot exceed it either; the bytes must be
 * UTF-8 and JSON (400 otherwise). Every failure is a {@link ProblemError}.
 *
 * @module
 */

import { ProblemError } from "./problem.ts";

/** Returns whether a `Content-Type` value is JSON: `application/json` or `application/*+json`, UTF-8 if a charset is given. */
export function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  if (value === "application/json") return true; // the common case, without parsing
  const [essence, ...params] = value.split(";");
  const type = essence.trim().toLowerCase();
  if (type !== "application/json" && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) return false;
  for (const p of params) {
    const [k, v = ""] = p.split("=");
    if (k.trim().toLowerCase() === "charset" && !/^"?utf-8"?$/i.test(v.trim())) return false;
  }
  return true;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
/** Decodes without the validity check, several times faster; used first (see {@link readJsonBody}). */
const looseDecoder = new TextDecoder("utf-8");

function tooLarge(limit: number, size?: number): ProblemError {
  const what = size === undefined ? "more than" : `${size} bytes, more than`;
  return new ProblemError(
    "too_large",
    `The request body is ${what} the limit of ${limit} bytes (server.max_body_bytes)`,
  );
}

/** Runs a body read, turning a transport failure (the client went away) into a 400 problem. */
async function unreadable<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof ProblemError) throw e;
    throw new ProblemError("bad_request", `The request body could not be read: ${(e as Error).message ?? e}`);
  }
}

/**
 * Reads at most `limit` bytes of the request body. With a `Content-Length`,
 * the declared size is checked first and the body read in one go, then its
 * actual size checked against both (Deno's server never delivers more than
 * the declared length); without one (chunked), the body is streamed and
 * reading stops as soon as it passes the limit. A request without a body
 * gives no bytes, whatever its Content-Length says.
 *
 * @throws {ProblemError} 413 when the body is larger than `limit`; 400 when it differs from its Content-Length.
 */
export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array> {
  const header = request.headers.get("content-length");
  if (header !== null) {
    const declared = /^\s*\d{1,15}\s*$/.test(header) ? Number(header) : NaN;
    if (Number.isNaN(declared) || declared > limit) {
      if (request.body === null) return new Uint8Array(0); // no body at all: nothing to check
      if (Number.isNaN(declared)) throw new ProblemError("bad_request", "The Content-Length header is not a number");
      throw tooLarge(limit, declared);
    }
    // `request.body` is left alone until the bytes are in: Deno then hands the body over whole, without
    // building a stream for it (a quarter of the cost of a small POST).
    const bytes = await unreadable(async () => new Uint8Array(await request.arrayBuffer()));
    if (bytes.byteLength > limit) throw tooLarge(limit, bytes.byteLength);
    if (bytes.byteLength !== declared) {
      if (request.body === null) return new Uint8Array(0); // no body at all, whatever the header said
      throw new ProblemError(
        "bad_request",
        `The body has ${bytes.byteLength} bytes but Content-Length says ${declared}`,
      );
    }
    return bytes;
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await unreadable(() => reader.read());
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Reads and parses a JSON request body.
 *
 * @throws {ProblemError} 415 for a non-JSON media type, 413 for a body over `limit` bytes,
 * 400 for an empty body, bytes that are not UTF-8, or text that is not JSON.
 */
export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  const type = request.headers.get("content-type");
  if (!isJsonContentType(type)) {
    throw new ProblemError(
      "unsupported_media_type",
      type === null
        ? "The request has no Content-Type; send the body as application/json"
        : `The Content-Type ${JSON.stringify(type.slice(0, 100))} is not JSON; send the body as application/json`,
      { headers: { "Accept-Post": "application/json" } },
    );
  }
  const bytes = await readBodyBytes(request, limit);
  if (bytes.byteLength === 0) throw new ProblemError("malformed_json", "The request body is empty");
  // Valid UTF-8 decodes the same either way, and invalid bytes decode loosely to U+FFFD: only a text
  // holding U+FFFD (rare; cheap to look for) is decoded again strictly, to tell the two apart.
  let text = looseDecoder.decode(bytes);
  if (text.includes("\ufffd")) {
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new ProblemError("malformed_json", "The request body is not valid UTF-8");
    }
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ProblemError("malformed_json", `The request body is not valid JSON: ${why.slice(0, 200)}`);
  }
}
