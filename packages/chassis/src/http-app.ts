// The type of a service's fastify instance: zod schemas for validation, serialisation and the
// OpenAPI document, pino as its logger. Its own file so that http.ts (which builds the app) and
// openapi.ts (which http.ts uses to document it) both name it without importing each other.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';

export type HttpApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, ZodTypeProvider>;
