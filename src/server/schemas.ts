/**
 * JSON schemas of the REST bodies and query strings. Unknown properties are rejected (400)
 * rather than dropped, so that a misspelt option does not silently fall back to a default.
 */

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const stringList = { type: 'array', items: { type: 'string' } } as const;
/** Query strings are text (types are not coerced); `parseLimit` turns this into a number. */
const positiveIntegerText = { type: 'string', pattern: '^[1-9][0-9]{0,8}$' } as const;
/** An endpoint id or a model tag: the rule of names that become one path segment (see common/safe-path.ts). */
const segmentText = { type: 'string', maxLength: 128, pattern: '^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$' } as const;
/** A function (monitoring application) name, as `checkFunctionName` takes it. */
const functionNameText = { type: 'string', pattern: '^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$' } as const;
/** A result or metric name. */
const resultNameText = { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]{0,127}$' } as const;
/** A monitoring event kind (`data-drift-detected`, `mm-app-failed`). */
const eventKindText = { type: 'string', pattern: '^[a-z][a-z0-9-]{0,63}$' } as const;
/** Epoch milliseconds or ISO-8601, read by `parseTimeParam`, which says what is wrong. */
const timeText = { type: 'string', maxLength: 64 } as const;

/** The query string of a route that takes no parameters (every route without a schema of its own). */
export const noQuerystring = { type: 'object', additionalProperties: false, properties: {} } as const;

export const projectParams = {
  type: 'object',
  properties: { project: { type: 'string' } },
} as const;

export const createProjectBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string' }, description: { type: 'string' }, labels: stringMap },
} as const;

export const enableMonitoringBody = {
  type: 'object',
  additionalProperties: false,
  // Numbers, not integers: the project checks the ranges, with the words embedded mode uses.
  properties: {
    basePeriod: { type: 'number' },
    deployHistogramDataDriftApp: { type: 'boolean' },
    rebuild: { type: 'boolean' },
    graceSeconds: { type: 'number' },
    maxWindowsPerTick: { type: 'number' },
    histogramDataDriftOptions: { type: 'object' },
  },
} as const;

export const disableMonitoringBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    deleteResources: { type: 'boolean' },
    deleteStreamFunction: { type: 'boolean' },
    deleteHistogramDataDriftApp: { type: 'boolean' },
    deleteUserApplications: { type: 'boolean' },
    userApplicationList: stringList,
  },
} as const;

export const controllerBody = {
  type: 'object',
  required: ['basePeriod'],
  additionalProperties: false,
  properties: { basePeriod: { type: 'number' } },
} as const;

export const credentialsBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    endpointStoreConnection: { type: 'string', minLength: 1 },
    tsdbConnection: { type: 'string', minLength: 1 },
    streamPath: { type: 'string', minLength: 1 },
    replace: { type: 'boolean' },
  },
} as const;

export const putFunctionBody = {
  type: 'object',
  required: ['kind'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: ['serving', 'monitoring-application'] },
    name: { type: 'string' },
    // serving
    spec: { type: 'object' },
    // monitoring-application
    application: { type: 'string', minLength: 1 },
    className: { type: 'string' },
    handler: { type: 'string' },
    options: { type: 'object' },
    labels: stringMap,
  },
} as const;

export const invokeBody = {
  type: 'object',
  required: ['path'],
  additionalProperties: false,
  // One leading slash only: `//host/x` (or `/\\host/x`, which URL parsing reads the same way)
  // would make the request leave the function's address.
  properties: { path: { type: 'string', pattern: '^/(?![/\\\\])' }, body: {} },
} as const;

export const logModelBody = {
  type: 'object',
  required: ['trainingSet'],
  additionalProperties: false,
  properties: {
    trainingSet: { anyOf: [{ type: 'array' }, { type: 'object' }] },
    labelColumn: { anyOf: [{ type: 'string' }, stringList] },
    inputs: stringList,
    outputs: stringList,
    columns: stringList,
    tag: { type: 'string' },
    labels: stringMap,
    model: {},
    modelFile: {
      type: 'object',
      required: ['name', 'base64'],
      additionalProperties: false,
      properties: { name: { type: 'string', minLength: 1 }, base64: { type: 'string' } },
    },
  },
} as const;

export const seriesQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    endpoint: segmentText,
    app: functionNameText,
    name: resultNameText,
    start: timeText,
    end: timeText,
    limit: positiveIntegerText,
  },
} as const;

export const latestQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: { endpoint: segmentText, app: functionNameText },
} as const;

export const eventsQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    endpoint: segmentText,
    kind: eventKindText,
    since: timeText,
    limit: positiveIntegerText,
  },
} as const;

export const functionsQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: { kind: { type: 'string', enum: ['serving', 'monitoring-application', 'infrastructure'] } },
} as const;

/** `POST /functions/:name/deploy`: whether to wait for the worker, and how long (the project checks the range). */
export const deployBody = {
  type: 'object',
  additionalProperties: false,
  properties: { wait: { type: 'boolean' }, timeoutSeconds: { type: 'number' } },
} as const;

/** `GET /endpoints?full=true`: the reference and window distributions too. */
export const endpointsQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: { full: { type: 'string', enum: ['true', 'false'] } },
} as const;

export const modelQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: { tag: segmentText },
} as const;

/** `POST /tokens`: whose token, its role, and the one project it reaches (none: every project). */
export const createTokenBody = {
  type: 'object',
  required: ['name', 'role'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    role: { type: 'string', enum: ['viewer', 'invoker', 'editor', 'admin'] },
    project: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;
