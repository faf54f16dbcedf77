// graphql-ws publishes its ws adapter as the subpath export 'graphql-ws/use/ws' (Node resolves it
// at runtime), but TypeScript's moduleResolution "node" does not read package.json "exports":
// point it at that subpath's own declarations.
declare module 'graphql-ws/use/ws' {
  export * from 'graphql-ws/dist/use/ws';
}
