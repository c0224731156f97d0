export * from './resolve.ts';
export * from './schema.ts';
export { DEFAULTS } from './defaults.ts';
