import { IConstruct } from 'constructs';

/** An application user as one `DatabaseBootstrap` declares it. */
export interface UserDeclaration {
  /** The privileges it gets ('READ_ONLY' or 'READ_WRITE'). */
  readonly privileges: string;
  /** Whether the bootstrap gives the user a secret of its own (the proxy authenticates with secrets). */
  readonly secret: boolean;
  /** The bootstrap that declares it. */
  readonly declaredBy: IConstruct;
}

const declarations = new WeakMap<IConstruct, Map<string, UserDeclaration[]>>();

/** Record that a bootstrap of `database` creates user `name`. */
export function declareUser(database: IConstruct, name: string, declaration: UserDeclaration): void {
  const byName = declarations.get(database) ?? new Map<string, UserDeclaration[]>();
  declarations.set(database, byName);
  byName.set(name, [...byName.get(name) ?? [], declaration]);
}

/** The bootstraps of `database` that declare user `name`, in the order they were created. */
export function declarationsOf(database: IConstruct, name: string): UserDeclaration[] {
  return declarations.get(database)?.get(name) ?? [];
}
