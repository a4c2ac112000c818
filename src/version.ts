/** The vigil version, kept apart so `vigil --version` and `--help` load nothing else. */
export const VIGIL_VERSION = '0.1.0';

/**
 * The layout of what a manifest records for `--state` (state: selectors, --defer), written as its
 * metadata.state_format: raised when a change makes a manifest of an earlier layout compare
 * differently, so a comparison knows what an older manifest could not record. 1 (a manifest
 * without it): one checksum per macro file (before 290baa0) or per macro text (from it); sync
 * settings as resolved, no positions. 2: one
 * checksum per macro text (and per file, for a state of layout 1: macro_files), the sync
 * settings a table leaves to their defaults named (sync.defaults). 3: a generic data test's
 * unique_id ends with the hash of its definition (`test.<project>.<name>.<hash>`; before, it was
 * `test.<project>.<name>`, a name another test could take): a state of layout 1 or 2 has its
 * generic tests matched by checksum. 4: a model, snapshot or data test records the vars its
 * rendering read, each with a hash of its value (`vars`: state:modified.vars, which plain
 * state:modified leaves out; a state of an earlier layout cannot say: .vars matches nothing against it); a {% snapshot %} block's fqn has its
 * file's name (compared without it against an earlier layout). run_results.json records it too (`vigil retry`).
 */
export const STATE_FORMAT = 4;
