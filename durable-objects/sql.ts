/**
 * Applies a module's schema steps to a Durable Object's SQLite once each, tracked per module in
 * `_schema`, so objects that share a class (User holds wallet, profile and streaks) migrate
 * each part independently. Call inside `blockConcurrencyWhile` in the constructor.
 */
export function migrate(sql: SqlStorage, module: string, steps: readonly string[]): void {
  sql.exec("CREATE TABLE IF NOT EXISTS _schema (module TEXT PRIMARY KEY, version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM _schema WHERE module = ?", module).toArray()[0];
  const current = row?.version ?? 0;
  for (let version = current; version < steps.length; version++) {
    sql.exec(steps[version]!);
  }
  if (steps.length > current) {
    sql.exec(
      "INSERT INTO _schema (module, version) VALUES (?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version",
      module,
      steps.length,
    );
  }
}

/**
 * Whether `migrate` ever ran on this SQLite: objects that make their tables on the first write
 * (so that reads of a never-written object leave nothing behind) check this in their constructor.
 */
export function hasStorage(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_schema'").toArray().length > 0;
}

/** Runs a query and returns its rows typed as `T`. */
export function rows<T extends Record<string, SqlStorageValue>>(
  sql: SqlStorage,
  query: string,
  ...bindings: SqlStorageValue[]
): T[] {
  return sql.exec<T>(query, ...bindings).toArray();
}

/** The first row of a query, or undefined. */
export function firstRow<T extends Record<string, SqlStorageValue>>(
  sql: SqlStorage,
  query: string,
  ...bindings: SqlStorageValue[]
): T | undefined {
  return rows<T>(sql, query, ...bindings)[0];
}
