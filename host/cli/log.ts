import { type Logger, pino } from 'pino';

/** Structured JSON logs on stdout, one object per line (what log collectors expect). */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}
