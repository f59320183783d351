import { temporalDataConverter } from '../../temporal/data-converter.js';

/** The fixed payload key of the tests (PAYLOAD_KEYS), the same in every run. */
export const TEST_PAYLOAD_KEYS = `test-1:${Buffer.alloc(32, 'mailroom test payload key').toString('base64')}`;

/** The data converter of the tests' Temporal clients, workers and replays. */
export const testDataConverter = () =>
  temporalDataConverter({ PAYLOAD_KEYS: [TEST_PAYLOAD_KEYS], PAYLOAD_PLAINTEXT: false });
