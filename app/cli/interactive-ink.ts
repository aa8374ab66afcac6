/**
 * Ink draws only a final frame when it believes it runs in CI: the `is-in-ci` package reads CI and
 * CONTINUOUS_INTEGRATION once, when Ink is first loaded. A command that opens an interactive Ink
 * view on a real terminal calls this first, so a terminal inside a CI job (or a developer with CI
 * exported) still gets the interactive screen.
 */
export function allowInteractiveInk(): void {
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
}
