/** The vigil version, kept apart so `vigil --version` and `--help` load nothing else. */
export const VIGIL_VERSION = '0.1.0';
