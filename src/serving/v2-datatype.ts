/** Open Inference Protocol (KServe V2) tensor datatypes and the JSON values each accepts. */

/** The datatype names of the V2 protocol. */
export const V2_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

/** One V2 datatype name. */
export type V2Datatype = (typeof V2_DATATYPES)[number];

const INT_RANGES: Record<string, [number, number]> = {
  UINT8: [0, 2 ** 8 - 1],
  UINT16: [0, 2 ** 16 - 1],
  UINT32: [0, 2 ** 32 - 1],
  UINT64: [0, 2 ** 64 - 1],
  INT8: [-(2 ** 7), 2 ** 7 - 1],
  INT16: [-(2 ** 15), 2 ** 15 - 1],
  INT32: [-(2 ** 31), 2 ** 31 - 1],
  INT64: [-(2 ** 63), 2 ** 63 - 1],
};

// Beyond these a value would become ±Infinity in the tensor.
const FP_MAX: Record<string, number> = { FP16: 65504, FP32: 3.4028234663852886e38, FP64: Number.MAX_VALUE };

/** True when `name` is a V2 datatype name. */
export function isV2Datatype(name: unknown): name is V2Datatype {
  return typeof name === 'string' && (V2_DATATYPES as readonly string[]).includes(name);
}

/** True when a JSON value can be an element of a tensor of this datatype. */
export function fitsDatatype(value: unknown, datatype: V2Datatype): boolean {
  if (datatype === 'BOOL') return typeof value === 'boolean';
  if (datatype === 'BYTES') return typeof value === 'string';
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  const range = INT_RANGES[datatype];
  if (range) return Number.isInteger(value) && value >= range[0] && value <= range[1];
  return Math.abs(value) <= (FP_MAX[datatype] ?? Number.MAX_VALUE);
}
