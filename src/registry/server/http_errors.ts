/**
 * Map domain errors to HTTP responses `{ code, message }`.
 * @module
 */
import { ERROR_STATUS, type ErrorResponse, RateLimitError } from "../../core/mod.ts";

/** A JSON response */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** The response for a thrown error; unknown errors are a 500 without internals */
export function errorResponse(err: unknown, headers: HeadersInit = {}): Response {
  const e = err instanceof Error ? err : new Error(String(err));
  const status = ERROR_STATUS[e.name];
  if (e instanceof RateLimitError) headers = { ...headers, "retry-after": String(e.retryAfterSeconds) };
  if (status === undefined) {
    return json({ code: "InternalError", message: "Internal server error" } satisfies ErrorResponse, 500, headers);
  }
  return json({ code: e.name, message: e.message } satisfies ErrorResponse, status, headers);
}
