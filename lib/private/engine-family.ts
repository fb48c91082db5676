import { UserNameEngine } from './database-user-names';

/**
 * The values of EngineFamily (lib/database/engine.ts). Shared helpers take
 * this instead of the enum, so lib/private needs no construct folder; the
 * enum's members are assignable to it, so a new family stops the build
 * wherever one is passed.
 */
export type EngineFamilyValue = 'POSTGRESQL' | 'MYSQL';

/** The family as the handlers' environment, the bootstrap's properties and the user-name rule spell it. */
export function engineName(family: EngineFamilyValue): UserNameEngine {
  return family === 'POSTGRESQL' ? 'postgresql' : 'mysql';
}
