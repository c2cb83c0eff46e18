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

/** A named thing (project, function, endpoint, model, route) does not exist. */
export class NotFoundError extends ModelwatchError {
  constructor(kind: string, name: string, message = `${kind} '${name}' was not found`) {
    super('not_found', message, { httpStatus: 404, details: { kind, name } });
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
    super('model_error', `model '${model}' failed: ${errorMessage(cause)}`, { httpStatus: 500, cause, details: { model } });
  }
}

/** A monitoring application broke its contract or threw. */
export class ApplicationError extends ModelwatchError {
  constructor(app: string, message: string, cause?: unknown) {
    super('application_error', `monitoring application '${app}': ${message}`, { httpStatus: 500, cause, details: { app } });
  }
}

/** A serving function answered with an error status; `status` and `body` are what it answered. */
export class InvokeError extends ModelwatchError {
  constructor(status: number, message: string, body: unknown) {
    super('invoke_failed', message, { httpStatus: status >= 400 && status < 600 ? status : 502, details: { status, body } });
  }

  /** The HTTP status the serving function answered. */
  get status(): number {
    return Number(this.details?.status);
  }

  /** The body it answered (JSON when it was JSON). */
  get body(): unknown {
    return this.details?.body;
  }
}

/** What a function's status says, as error details carry it. */
export interface FunctionStateDetails {
  function: string;
  state: string;
  lastError?: string;
  restarts?: number;
}

/** A function is not serving (not deployed, still starting, crashed or stopped). */
export class NotRunningError extends ModelwatchError {
  constructor(message: string, details: FunctionStateDetails) {
    super('not_running', message, { httpStatus: 503, retryable: details.state === 'starting', details: { ...details } });
  }
}

/** Deploying needs something that runs deployed functions, and none runs for this store. */
export class NoSupervisorError extends ModelwatchError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('no_supervisor', message, { httpStatus: 503, details });
  }
}

/** A deployed function did not report running (nor failing) in time. */
export class DeployTimeoutError extends ModelwatchError {
  constructor(message: string, details: FunctionStateDetails) {
    super('deploy_timeout', message, { httpStatus: 504, retryable: true, details: { ...details } });
  }
}

/** A function's worker process ended without telling why (killed, out of memory, a crash before it could). */
export class WorkerExitedError extends ModelwatchError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('worker_exited', message, { httpStatus: 500, details });
  }
}

/**
 * Durable tracking (`setTracking({ durable: true })`): the request's event could not be put in the
 * stream (it is down, or the tracker's queue is full or closing), so the prediction was not answered.
 * The request may be sent again.
 */
export class TrackingUnavailableError extends ModelwatchError {
  constructor(message: string, cause?: unknown) {
    super('tracking_unavailable', message, { httpStatus: 503, retryable: true, cause });
  }
}

/**
 * An event too large ever to be stored, so that sending it again gives the same answer: a stream
 * message larger than the stream takes (NATS: its server's max_payload; Kafka: the broker's
 * MESSAGE_TOO_LARGE), or, with durable tracking, a request with rows whose event alone is larger
 * than one event holds (the request is answered 413 and counted as an endpoint error). A stream's
 * `publish` that rejects with it has stored every other message of the call; `indexes` are the
 * places of the refused ones in the call's messages.
 */
export class EventTooLargeError extends ModelwatchError {
  constructor(message: string, details: { indexes?: number[]; bytes?: number; maxBytes?: number } = {}) {
    super('event_too_large', message, { httpStatus: 413, details });
  }

  /** The places of the refused messages in the publish that refused them (undefined when not a publish's). */
  get indexes(): number[] | undefined {
    const i = this.details?.indexes;
    return Array.isArray(i) ? (i as number[]) : undefined;
  }
}

type ErrorClass = abstract new (...args: never[]) => ModelwatchError;

/**
 * Every error class by its code, with its HTTP status: what lets an error that crossed a process
 * or the REST API be rebuilt.
 */
const ERROR_CLASSES: Readonly<Record<string, [ErrorClass, number]>> = {
  validation_error: [ValidationError, 400],
  not_found: [NotFoundError, 404],
  conflict: [ConflictError, 409],
  backend_not_available: [BackendNotAvailableError, 501],
  model_error: [ModelError, 500],
  application_error: [ApplicationError, 500],
  invoke_failed: [InvokeError, 502],
  not_running: [NotRunningError, 503],
  no_supervisor: [NoSupervisorError, 503],
  deploy_timeout: [DeployTimeoutError, 504],
  worker_exited: [WorkerExitedError, 500],
  tracking_unavailable: [TrackingUnavailableError, 503],
  event_too_large: [EventTooLargeError, 413],
};

/**
 * Rebuilds an error from its code, message and details (a REST error body, a worker's recorded
 * failure) as an instance of the class that code belongs to, so that `instanceof`, `code`,
 * `message` and `details` are what the side that threw it had. Unknown codes give a plain
 * {@link ModelwatchError}. `httpStatus` defaults to the class's own.
 */
export function reviveError(
  code: string,
  message: string,
  opts: { httpStatus?: number; details?: Record<string, unknown>; retryable?: boolean } = {},
): ModelwatchError {
  const known = Object.hasOwn(ERROR_CLASSES, code) ? ERROR_CLASSES[code] : undefined;
  const args: ConstructorParameters<typeof ModelwatchError> = [code, message, { ...opts, httpStatus: opts.httpStatus ?? known?.[1] ?? 500 }];
  // Only the base constructor runs (subclasses build their message from parts the wire no longer
  // has); `new.target` makes the instance, and its `name`, the subclass's.
  return known ? (Reflect.construct(ModelwatchError, args, known[0]) as ModelwatchError) : new ModelwatchError(...args);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
