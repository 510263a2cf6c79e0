// @yixing/console: the console server, for the tests and ./dev start.
export { buildConsoleApp, type ConsoleConfig, type ConsoleDeps } from './app.ts';
export { CONTENT_SECURITY_POLICY } from './server/security-headers.ts';
