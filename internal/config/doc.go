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
// Layers lays the environment (RCA_*) and the command's flags over
// File.Flags through viper, checks every value with the flag's own parser,
// and names where a value was given ("--lookback", "RCA_LOOKBACK",
// "lookback in config file rca.yaml line 3"). The package knows nothing of
// cobra: the caller passes the flag sets.
package config
