/** pino JSON logs; pretty-printed only when stdout is a TTY. */
import pino, { type Logger } from 'pino';
import { readVariable } from './config';

export type { Logger };

export function createLogger(name: string, level: string = readVariable('LOG_LEVEL')): Logger {
  const pretty = process.stdout.isTTY && readVariable('LOG_FORMAT') !== 'json';
  return pino({
    name,
    level,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}
