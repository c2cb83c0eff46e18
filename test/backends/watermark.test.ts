import { runWatermarkCase } from '../contract/watermark.case.ts';
import { deleteNatsNamespace, natsNamespace, natsUnavailableReason, NATS_SERVER } from './nats.ts';

/*
 * The controller's watermark on the scale-out streams, with the processors sharing the partitions:
 * NATS JetStream (the test server; skipped without one unless MODELWATCH_TEST_REQUIRE_SERVERS) and
 * Kafka (only with MODELWATCH_TEST_KAFKA=host:port). Each scenario gets a namespace of its own.
 */
const PARTITIONS = 3;

const natsSkip = await natsUnavailableReason();
runWatermarkCase(
  'NATS JetStream',
  async () => {
    const ns = natsNamespace();
    return { streamUrl: `nats://${NATS_SERVER}?namespace=${ns}&partitions=${PARTITIONS}`, partitions: PARTITIONS, cleanup: () => deleteNatsNamespace(ns) };
  },
  { sharedPartitions: true, ...(natsSkip ? { skip: natsSkip } : {}) },
);

const KAFKA = process.env.MODELWATCH_TEST_KAFKA;
runWatermarkCase(
  'Kafka',
  async () => {
    const ns = natsNamespace();
    return {
      streamUrl: `kafka://${KAFKA}?namespace=${ns}&partitions=${PARTITIONS}`,
      partitions: PARTITIONS,
      cleanup: async () => {
        const { Kafka, logLevel } = await import('kafkajs');
        const admin = new Kafka({ brokers: [KAFKA!], logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        const doomed = (await admin.listTopics()).filter((t) => t.startsWith(`${ns}.`));
        if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
        await admin.disconnect();
      },
    };
  },
  { sharedPartitions: true, ...(KAFKA ? {} : { skip: 'no Kafka broker: set MODELWATCH_TEST_KAFKA=host:port to run the watermark on Kafka' }) },
);
