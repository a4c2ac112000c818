/** The vigil version, kept apart so `vigil --version` and `--help` load nothing else. */
export const VIGIL_VERSION = '0.1.0';

/**
 * The layout of what a manifest records for `--state` (state: selectors, --defer), written as its
 * metadata.state_format: raised when a change makes a manifest of an earlier layout compare
 * differently, so a comparison knows what an older manifest could not record. 1 (a manifest
 * without it): one checksum per macro file (before 290baa0) or per macro text (from it); sync
 * settings as resolved, no positions. 2: one
 * checksum per macro text (and per file, for a state of layout 1: macro_files), the sync
 * settings a table leaves to their defaults named (sync.defaults).
 */
export const STATE_FORMAT = 2;
