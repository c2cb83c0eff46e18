import { runWatermarkCase } from '../../../test/contract/watermark.case.ts';

// The embedded default: the SQLite log under the scenario's home (one partition, one consumer per group).
runWatermarkCase('the embedded log', async () => ({ partitions: 1, cleanup: async () => undefined }));
