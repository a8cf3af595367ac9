import type { Database } from './database.js';

/** Values the server generates once and keeps (e.g. the JWT signing secret). */
export class SettingsRepository {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      get: db.prepare<[string], { value: string }>(`SELECT value FROM settings WHERE key = ?`),
      set: db.prepare<[string, string]>(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
      insert: db.prepare<[string, string]>(`INSERT INTO settings (key, value) VALUES (?, ?)`),
    };
  }

  get(key: string): string | undefined {
    return this.stmts.get.get(key)?.value;
  }

  set(key: string, value: string): void {
    this.stmts.set.run(key, value);
  }

  /**
   * The stored value, or `make()`'s, stored first. IMMEDIATE takes the write
   * lock before reading, so two processes starting at once agree on one value
   * (a serve and an import must sign and verify with the same JWT secret).
   */
  getOrCreate(key: string, make: () => string): string {
    return this.db
      .transaction(() => {
        const existing = this.stmts.get.get(key);
        if (existing) return existing.value;
        const value = make();
        this.stmts.insert.run(key, value);
        return value;
      })
      .immediate();
  }
}
