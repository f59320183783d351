import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';

const levels: Record<Config['LOG_LEVEL'], LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};
const methods = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * The worker's Temporal log (the SDK's "Activity failed" with its error, the activities' `log`
 * calls) through Mailroom's logger, redacted as every other line. For `Runtime.install({ logger })`,
 * before the first connection.
 */
export function temporalLogger(logger: Logger, level: Config['LOG_LEVEL']) {
  return new DefaultLogger(levels[level], (entry) => logger[methods[entry.level]](entry.meta ?? {}, entry.message));
}
