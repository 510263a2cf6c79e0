// The one-time token an operator hands to a host: `yxe1.<secret>.<enrolment JWT>`. The
// secret (256 random bits, hex) is what the enrolment service checks and consumes; only
// its SHA-256 is stored. The enrolment JWT is the bearer credential that lets an
// unenrolled host ask for enrolment and nothing else, so the token is all a host needs.
import { createHash, randomBytes } from 'node:crypto';
import { ValidationError } from '../errors.ts';

const PREFIX = 'yxe1';
const SECRET = /^[0-9a-f]{64}$/;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export const newEnrolSecret = (): string => randomBytes(32).toString('hex');

/** How the store knows a secret without keeping it. */
export const enrolSecretDigest = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function formatEnrolToken(secret: string, enrolJwt: string): string {
  return `${PREFIX}.${secret}.${enrolJwt}`;
}

export function parseEnrolToken(token: string): { secret: string; enrolJwt: string } {
  const [prefix, secret = '', ...jwt] = token.trim().split('.');
  const enrolJwt = jwt.join('.');
  if (prefix !== PREFIX || !SECRET.test(secret) || !JWT.test(enrolJwt)) {
    throw new ValidationError('token', `not an enrolment token (expected ${PREFIX}.<64 hex>.<JWT>, as yx-enrol token prints)`);
  }
  return { secret, enrolJwt };
}
