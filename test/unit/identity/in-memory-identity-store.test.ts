import { InMemoryIdentityStore } from '../../../adapters/identity/in-memory-identity-store.js';
import { identityStoreContract } from '../../support/identity/identity-store-contract.js';

identityStoreContract('InMemoryIdentityStore', async () => new InMemoryIdentityStore());
