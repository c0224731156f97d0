import { runStorageContract } from '../contract/index.ts';
import { createMemoryStorage } from './index.ts';

runStorageContract('memory', async () => {
  const storage = createMemoryStorage();
  return { storage, cleanup: () => storage.close() };
});
