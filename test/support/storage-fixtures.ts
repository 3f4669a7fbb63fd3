import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { MessageStore } from '../../application/ports/message-store.js';
import type { StateStore } from '../../application/ports/state-store.js';
import { createDataSource } from '../../adapters/storage/create-data-source.js';
import type { StorageOptions } from '../../adapters/storage/storage-options.js';
import { SqlMessageStore } from '../../adapters/storage/sql-message-store.js';
import { TypeormStateStore } from '../../adapters/storage/typeorm-state-store.js';
import { InMemoryMessageStore } from '../../adapters/storage/in-memory-message-store.js';
import { SERVICES } from './services.js';

export interface OpenStores {
  store: MessageStore;
  state?: StateStore;
  dataSource?: DataSource;
}

/** A database for one test: opened stores, reopen (same database, fresh process state) and cleanup. */
export interface StoreFixture {
  readonly kind: 'sqlite' | 'postgres' | 'memory';
  open(): Promise<OpenStores>;
  /** Closes what `open` returned (keeps the data). */
  shut(): Promise<void>;
  /** Drops the database and temp files. */
  destroy(): Promise<void>;
}

class TypeormFixture implements StoreFixture {
  private current: OpenStores | null = null;
  constructor(readonly kind: 'sqlite' | 'postgres', private readonly options: StorageOptions, private readonly drop: () => Promise<void>) {}

  async open(): Promise<OpenStores> {
    await this.shut();
    const dataSource = createDataSource(this.options);
    const store = new SqlMessageStore(dataSource);
    const state = new TypeormStateStore(dataSource);
    await store.open();
    await state.open();
    this.current = { store, state, dataSource };
    return this.current;
  }

  async shut(): Promise<void> {
    if (this.current === null) return;
    await this.current.store.close();
    if (this.current.dataSource?.isInitialized) await this.current.dataSource.destroy();
    this.current = null;
  }

  async destroy(): Promise<void> {
    await this.shut();
    await this.drop();
  }
}

export async function sqliteFixture(sync: 'normal' | 'full' = 'normal'): Promise<StoreFixture & { path: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-store-'));
  const path = join(dir, 'data', 'edgeport.db');
  const fixture = new TypeormFixture('sqlite', { kind: 'sqlite', path, sync }, () => rm(dir, { recursive: true, force: true }));
  return Object.assign(fixture, { path, dir });
}

const PG_ADMIN_URL = `postgres://postgres@${SERVICES.postgres.host}:${SERVICES.postgres.port}/test`;

async function adminQuery(sql: string): Promise<void> {
  const admin = new DataSource({ type: 'postgres', url: PG_ADMIN_URL, logging: false });
  await admin.initialize();
  try {
    await admin.query(sql);
  } finally {
    await admin.destroy();
  }
}

export async function postgresFixture(): Promise<StoreFixture & { url: string }> {
  const name = `edgeport_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = `postgres://postgres@${SERVICES.postgres.host}:${SERVICES.postgres.port}/${name}`;
  const fixture = new TypeormFixture('postgres', { kind: 'postgres', url }, () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  return Object.assign(fixture, { url });
}

export async function memoryFixture(): Promise<StoreFixture> {
  const store = new InMemoryMessageStore();
  return {
    kind: 'memory',
    open: async () => ({ store }),
    shut: async () => {},
    destroy: async () => {},
  };
}
