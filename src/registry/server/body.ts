/**
 * Reading request bodies with a size cap (refused on the declared length before one byte is
 * read) and a deadline.
 * @module
 */
import { readAllLimited, TooLargeError, ValidationError } from "../../core/mod.ts";

/** Read a body up to `limit` bytes; throws TooLargeError as soon as it is passed */
export async function readBody(req: Request, limit: number, timeoutMs: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    // Refused on the header alone: not one byte of the body is read
    throw new TooLargeError(`Tarball of ${declared} bytes exceeds the limit of ${limit} bytes (read 0 bytes)`);
  }
  if (!req.body) throw new ValidationError("Missing request body: send the tarball");
  return await readAllLimited(req.body, {
    limit,
    tooLarge: (read) =>
      new TooLargeError(`Tarball exceeds the limit of ${limit} bytes (read ${read} bytes, then stopped)`),
    deadline: {
      ms: timeoutMs,
      error: (read) => new ValidationError(`Request body not received within ${timeoutMs} ms (read ${read} bytes)`),
    },
  });
}
