import pino from 'pino';
import type { Config } from './config.js';

/** The one logger; request and send logs are its children, carrying messageId. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>) {
  return pino({ level: config.LOG_LEVEL, base: { service: 'mailroom' } });
}
