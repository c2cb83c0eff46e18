import { CONTROLLER_FUNCTION, STREAM_FUNCTION, WRITER_FUNCTION } from '../common/names.ts';

/**
 * The roles `worker --role` takes: the infrastructure functions they stand for, and `apps`, which
 * runs every deployed monitoring application of the project. Apart from worker.ts, which loads
 * the whole pipeline, so that defining the command does not.
 */
export const ROLES = { stream: STREAM_FUNCTION, controller: CONTROLLER_FUNCTION, writer: WRITER_FUNCTION, apps: undefined } as const;
