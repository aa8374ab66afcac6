/**
 * Colours, or none: with NO_COLOR set (https://no-color.org) the interface uses no colour at all and
 * marks things with bold, dim and inverse instead, which every terminal shows. Screens ask the theme
 * for a colour and get `undefined` when colour is off.
 */
import type { Tone } from '../ceremony/state.ts';

export interface Theme {
  /** false when NO_COLOR is set */
  color: boolean;
}

export type Hue = Tone | 'accent' | 'simulator';

const HUES: Record<Hue, string> = {
  info: 'cyan',
  accent: 'cyan',
  success: 'green',
  warning: 'yellow',
  error: 'red',
  simulator: 'magenta',
};

/** The theme for an environment: colour unless NO_COLOR is set to anything non-empty. */
export function themeFor(env: NodeJS.ProcessEnv): Theme {
  return { color: !(typeof env.NO_COLOR === 'string' && env.NO_COLOR !== '') };
}

/** The colour name for `hue`, or undefined without colour. */
export function hue(theme: Theme, h: Hue): string | undefined {
  return theme.color ? HUES[h] : undefined;
}
