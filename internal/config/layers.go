package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/rca-tool/rca/timerange"
)

// EnvPrefix prefixes the environment variables that stand in for flags:
// --output is RCA_OUTPUT, --baseline-from is RCA_BASELINE_FROM.
const EnvPrefix = "RCA"

// Source is where a key's effective value comes from.
type Source int

const (
	FromDefault Source = iota
	FromFlag
	FromEnv
	FromConfig
)

// Layers is one command's configuration: its flags over the environment
// (RCA_*) over the config file, read through viper.
type Layers struct {
	V *viper.Viper
	// File is the --config file; its flat keys are merged into V, its
	// sections read directly.
	File File
	// Flags are the running command's flags (with the inherited
	// persistent ones).
	Flags *pflag.FlagSet
}

// Keys maps every flag in the sets to its type: these are the keys a
// config file may set. "config" and "help" are not settable.
func Keys(sets ...*pflag.FlagSet) map[string]Key {
	keys := map[string]Key{}
	for _, fs := range sets {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Name != "config" && f.Name != "help" {
				keys[f.Name] = Key{Type: f.Value.Type(), Path: isPathFlag(f.Name)}
			}
		})
	}
	return keys
}

// isPathFlag reports whether a flag's value is a file or directory path:
// in the config file, relative to the file.
func isPathFlag(name string) bool {
	return name == "catalog" || name == "snapshot" || name == "out" || name == "changes-file" || name == "repo" || name == "incidents-dir" || name == "token-file"
}

// Bind binds the environment and the flags into V. Only the running
// command's flags are bound, so two commands may use the same flag name.
func (l *Layers) Bind() error {
	l.V.SetEnvPrefix(EnvPrefix)
	l.V.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	l.V.AutomaticEnv()
	if err := l.V.BindPFlags(l.Flags); err != nil {
		return fmt.Errorf("binding flags: %w", err)
	}
	return nil
}

// Load reads the config file at path and merges its flat keys into V,
// below the environment and the flags; keys are the flat keys it may set.
func (l *Layers) Load(path string, keys map[string]Key) error {
	f, err := Load(path, keys)
	if err != nil {
		return err
	}
	l.File = f
	if err := l.V.MergeConfigMap(f.FlagMap()); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// EnvName is the environment variable for a flag.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// Origin says where a key's effective value comes from, and names it for
// error messages: "--lookback", "RCA_LOOKBACK", "lookback in config file
// rca.yaml line 3". Precedence is viper's: flag, environment, config file.
func (l *Layers) Origin(key string) (Source, string) {
	if l.Flags != nil {
		if f := l.Flags.Lookup(key); f != nil && f.Changed {
			return FromFlag, "--" + key
		}
	}
	if os.Getenv(EnvName(key)) != "" { // viper ignores empty variables too
		return FromEnv, EnvName(key)
	}
	if _, ok := l.File.Flags[key]; ok {
		return FromConfig, l.File.Origin(key)
	}
	return FromDefault, "--" + key
}

// OriginName is Origin's description alone.
func (l *Layers) OriginName(key string) string {
	_, name := l.Origin(key)
	return name
}

// Setting is a flag's value and where it was given; the zero Setting when
// the command has no such flag.
func (l *Layers) Setting(key string) Setting {
	if l.Flags.Lookup(key) == nil {
		return Setting{}
	}
	return Setting{Value: l.V.GetString(key), Origin: l.OriginName(key)}
}

// Apply checks every value that comes from the environment or the config
// file with the flag's own parser, so "RCA_LOOKBACK=soon" fails as clearly
// as "--lookback soon" would.
func (l *Layers) Apply() error {
	var errs []error
	l.Flags.VisitAll(func(f *pflag.Flag) {
		src, name := l.Origin(f.Name)
		if src != FromEnv && src != FromConfig || len(errs) > 0 {
			return
		}
		if isListType(f.Value.Type()) {
			for _, item := range l.V.GetStringSlice(f.Name) {
				if err := f.Value.Set(item); err != nil {
					errs = append(errs, fmt.Errorf("%s: invalid value %q: %w", name, item, err))
					return
				}
			}
			return
		}
		val := l.V.GetString(f.Name)
		if err := f.Value.Set(val); err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid value %q: %w", name, val, err))
		}
	})
	return errors.Join(errs...)
}

// UnknownEnv lists the RCA_* variables that match none of the keys (nor
// RCA_CONFIG): usually a typo that would otherwise be silently ignored.
func UnknownEnv(keys map[string]Key) []string {
	var unknown []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix+"_") {
			continue
		}
		key := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, EnvPrefix+"_"), "_", "-"))
		if _, ok := keys[key]; !ok && key != "config" {
			unknown = append(unknown, name)
		}
	}
	return unknown
}

// Duration reads a duration key (flag, environment or config file), with
// days and weeks; its errors name where the value was given.
func (l *Layers) Duration(key string) (time.Duration, error) {
	s := l.V.GetString(key)
	if s == "" {
		return 0, nil
	}
	d, err := timerange.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", l.OriginName(key), err)
	}
	return d, nil
}
