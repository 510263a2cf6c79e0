// API authentication and roles, shared by every Yixing HTTP API.
export * from './api-auth.ts';
export * from './api-tokens.ts';
export * from './auth-config.ts';
export * from './authenticator.ts';
export * from './errors.ts';
export * from './oidc-verifier.ts';
export * from './roles.ts';
