// The Schedule CRD in the test stack's API server (see stack/crd.ts).
import { installScheduleCrd as install } from '../../stack/crd.ts';
import { adminKubeConfig } from './clients.ts';

export const installScheduleCrd = (): Promise<void> => install(adminKubeConfig());
