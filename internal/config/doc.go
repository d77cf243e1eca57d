// Package config reads rca's config file (--config rca.yaml) in one strict
// pass: the flat keys, which are the command's flag names, and the nested
// sections sources:, changes: and incident:.
//
// Unknown keys are errors, at every depth, because they are almost always
// typos that would otherwise be silently ignored. Every error names the file
// and, where YAML allows, the line and the key, in words for a person rather
// than Go type names. Relative paths in the file are made relative to the
// file, so a config works from any directory.
//
// The package knows nothing of cobra: the caller passes the flag keys and
// their types, and layers the environment and flags on top of File.Flags.
package config
