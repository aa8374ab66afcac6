/** The ceremony state for the screens: re-renders whenever the store handled an event. */
import { useSyncExternalStore } from 'react';
import type { CeremonyStore } from '../ceremony/ceremony-store.ts';
import type { CeremonyState } from '../ceremony/state.ts';

export function useCeremony(store: CeremonyStore): CeremonyState {
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}
