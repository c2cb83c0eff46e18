/** The embedded log's errors are the stream errors shared by every backend. */
export { StreamClosedError, StreamGroupBusyError, StreamLeaseLostError } from '../errors.ts';
