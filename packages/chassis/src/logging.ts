import { trace } from '@opentelemetry/api';
import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths never written to logs. Covers bodies, headers and our own objects. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'newPassword',
  '*.newPassword',
  'passwordHash',
  '*.passwordHash',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'adminToken',
  '*.adminToken',
  'ADMIN_TOKEN',
  'JWT_PRIVATE_KEY',
  'SERVICE_PRIVATE_KEY',
  'DB_PASSWORD',
  'CARD_ENCRYPTION_KEY',
  'card',
  '*.card',
  'cardNumber',
  '*.cardNumber',
  'cvc',
  '*.cvc',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'request.headers.authorization',
  'metadata.authorization',
];

export interface LoggerSettings {
  service: string;
  level?: LoggerOptions['level'];
  instance?: string;
  /** Where to write; stdout by default. Tests pass a stream to read the lines back. */
  destination?: pino.DestinationStream;
}

/** Adds the active span's ids to every line, so logs and traces join up. */
function traceMixin(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** A pino JSON logger with trace ids and redaction of secrets and card data. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service, ...(settings.instance ? { instance: settings.instance } : {}) },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: traceMixin,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
