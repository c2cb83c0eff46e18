/*
 * The NATS stream's packing thread (see NatsStream.publishEvents): turns batches of tracked events
 * handed over as numbers into JetStream message bodies, off the publishing event loop, and answers
 * them; the event loop publishes them. A thread's entry module (see common/thread-script.ts).
 */
import { parentPort } from 'node:worker_threads';
import { serveRequests } from '../../common/thread-serve.ts';
import { natsEventPacks, type NatsPackRequest } from './nats-event-packs.ts';

if (parentPort) serveRequests<NatsPackRequest>(parentPort, (req) => natsEventPacks(req), () => undefined);
