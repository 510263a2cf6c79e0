// Pinned versions of the servers the project builds from Go modules.
export const NATS_SERVER_MODULE = 'github.com/nats-io/nats-server/v2';
export const NATS_SERVER_VERSION = 'v2.15.2';
// FerretDB's version is pinned in infra/ferretdb/go.mod; the image tag follows it.
export const FERRETDB_VERSION = 'v1.24.2';
// Mailpit: the SMTP server of the email receiver's tests, with an HTTP API of what it received.
export const MAILPIT_MODULE = 'github.com/axllent/mailpit';
export const MAILPIT_VERSION = 'v1.33.1';
