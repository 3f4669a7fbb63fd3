import { messageStoreContract } from './message-store-contract.js';
import { memoryFixture } from '../../support/storage-fixtures.js';

messageStoreContract('in memory', () => memoryFixture(), { skip: false, durable: false });
