/**
 * One typed error base for the whole platform. Every error carries a stable `code`
 * (machine-readable, never reworded), an HTTP status for the REST API, and an optional `cause`.
 */
export class ModelwatchError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    opts: { httpStatus?: number; cause?: unknown; retryable?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = opts.httpStatus ?? 500;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Input that does not fit what the call takes. */
export class ValidationError extends ModelwatchError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('validation_error', message, { httpStatus: 400, details });
  }
}

/** A named thing (project, function, endpoint, model) does not exist. */
export class NotFoundError extends ModelwatchError {
  constructor(kind: string, name: string) {
    super('not_found', `${kind} '${name}' was not found`, { httpStatus: 404, details: { kind, name } });
  }
}

/** The call would overwrite something that exists without being told to. */
export class ConflictError extends ModelwatchError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', message, { httpStatus: 409, details });
  }
}

/** A backend named by a connection URL that this build cannot use (yet). */
export class BackendNotAvailableError extends ModelwatchError {
  constructor(scheme: string, what: string) {
    super('backend_not_available', `the ${what} backend '${scheme}' is not available yet; use the embedded default`, {
      httpStatus: 501,
      details: { scheme, what },
    });
  }
}

/** A model raised while loading or predicting. */
export class ModelError extends ModelwatchError {
  constructor(model: string, cause: unknown) {
    super('model_error', `model '${model}' failed: ${errorMessage(cause)}`, { httpStatus: 500, cause });
  }
}

/** A monitoring application broke its contract or threw. */
export class ApplicationError extends ModelwatchError {
  constructor(app: string, message: string, cause?: unknown) {
    super('application_error', `monitoring application '${app}': ${message}`, { httpStatus: 500, cause });
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
