import { messageStoreContract } from './message-store-contract.js';
import { skipUnless } from '../../support/services.js';
import { postgresFixture } from '../../support/storage-fixtures.js';

messageStoreContract('PostgreSQL', () => postgresFixture(), { skip: await skipUnless('postgres'), durable: true });
