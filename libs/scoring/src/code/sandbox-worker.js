'use strict';
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Entry point of the CODE-metric sandbox's worker thread (see code-sandbox.ts). Plain JavaScript,
 * so that it starts the same everywhere: the services run under `node -r @swc-node/register`,
 * which the worker inherits; Jest and plain node do not, so the TypeScript loader is registered
 * here when the process has none.
 */
if (!require.extensions['.ts']) require('@swc-node/register');
require('./sandbox-engine.ts').serveWorker();
