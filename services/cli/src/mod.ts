// Public surface of @yixing/cli: the `yx` commands as a function, for tests that run them
// in process.
export { type Io, run, USAGE } from './app.ts';
