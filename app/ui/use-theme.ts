/** The theme of the running interface (NO_COLOR or not), from React context. */
import { createContext, useContext } from 'react';
import type { Theme } from './theme.ts';

export const ThemeContext = createContext<Theme>({ color: true });

export function useTheme(): Theme {
  return useContext(ThemeContext);
}
