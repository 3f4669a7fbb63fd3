import { messageStoreContract } from './message-store-contract.js';
import { sqliteFixture } from '../../support/storage-fixtures.js';

messageStoreContract('SQLite (better-sqlite3, WAL)', () => sqliteFixture(), { skip: false, durable: true });
