/**
 * Domain errors. Each carries a message a user can act on; `main.ts` maps them to exit codes.
 * They cross the worker boundary as `{ name, message }` and are rebuilt by {@link errorFromName}.
 * @module
 */

/** No backend has the requested package, version or blob */
export class NotFoundError extends Error {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "NotFoundError";
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "Not found", options?: ErrorOptions) {
    super(message, options);
  }
}

/** A backend could not be reached or timed out; callers may fall back to another */
export class UnavailableError extends Error {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "UnavailableError";
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "Service unavailable", options?: ErrorOptions) {
    super(message, options);
  }
}

/** A peer or server sent nothing for longer than the stall timer: a kind of unavailability */
export class StallError extends UnavailableError {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "StallError";
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "No data within the stall timer", options?: ErrorOptions) {
    super(message, options);
  }
}

/** Bytes did not match their content address */
export class IntegrityError extends Error {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "IntegrityError";
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "Checksum mismatch", options?: ErrorOptions) {
    super(message, options);
  }
}

/** A request conflicts with existing state (duplicate version, unsatisfiable ranges) */
export class ConflictError extends Error {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "ConflictError";
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "Conflict", options?: ErrorOptions) {
    super(message, options);
  }
}

/** Missing, wrong or insufficient credentials */
export class UnauthorizedError extends Error {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "UnauthorizedError";
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "Unauthorized", options?: ErrorOptions) {
    super(message, options);
  }
}

/** A configuration file, key or flag is invalid */
export class ConfigError extends Error {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "ConfigError";
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "Invalid configuration", options?: ErrorOptions) {
    super(message, options);
  }
}

/** Input (manifest, archive, request body) failed validation */
export class ValidationError extends Error {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "ValidationError";
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "Invalid input", options?: ErrorOptions) {
    super(message, options);
  }
}

/** A body or archive exceeded a configured size limit */
export class TooLargeError extends Error {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "TooLargeError";
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "Too large", options?: ErrorOptions) {
    super(message, options);
  }
}

/** A signature is missing, invalid, or made by a key that is not trusted */
export class TrustError extends Error {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "TrustError";
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "Untrusted signature", options?: ErrorOptions) {
    super(message, options);
  }
}

/** Too many requests; retry after the given number of seconds */
export class RateLimitError extends Error {
  /** The class name: errors are rebuilt from it across process boundaries */
  override name = "RateLimitError";
  /** Seconds to wait before retrying */
  readonly retryAfterSeconds: number;
  /**
   * Create the error.
   *
   * @param message what went wrong and what to do next
   * @param options `cause` keeps the underlying error
   */
  constructor(message = "Too many requests", retryAfterSeconds = 1, options?: ErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

const ERROR_CLASSES = {
  NotFoundError,
  UnavailableError,
  StallError,
  IntegrityError,
  ConflictError,
  UnauthorizedError,
  ConfigError,
  ValidationError,
  TooLargeError,
  TrustError,
  RateLimitError,
} as const;

/** Plain form of an error that survives structured clone and JSON, its causes included */
export interface SerializedError {
  /** The class name: errors are rebuilt from it across process boundaries */
  name: string;
  /** What went wrong, for a person */
  message: string;
  /** The error that caused this one, serialized */
  cause?: SerializedError;
}

/** Turn any thrown value into its plain form, keeping up to 4 levels of `cause` */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const cause = depth < 4 && err.cause !== undefined ? serializeError(err.cause, depth + 1) : undefined;
  return { name: err.name, message: err.message, ...(cause ? { cause } : {}) };
}

/** Rebuild a domain error from its name (and its causes); unknown names become plain `Error` */
export function errorFromName(e: SerializedError): Error {
  const options = e.cause ? { cause: errorFromName(e.cause) } : undefined;
  if (e.name === "AbortError" || e.name === "TimeoutError") {
    return new DOMException(e.message, e.name);
  }
  const Cls = ERROR_CLASSES[e.name as keyof typeof ERROR_CLASSES];
  if (Cls === RateLimitError) return new RateLimitError(e.message, 1, options);
  if (Cls) return new (Cls as new (m: string, o?: ErrorOptions) => Error)(e.message, options);
  const err = new Error(e.message, options);
  err.name = e.name;
  return err;
}
