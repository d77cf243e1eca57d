package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// LoadFile is Load for a catalog file the user named: the built-in
// catalog when path is "", else the built-in one extended by the file.
// where names where the path was given ("--catalog", "catalog in config
// file rca.yaml line 3"), for the error when the file cannot be found.
func LoadFile(path, where string) (*Catalog, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: catalog file %s does not exist", where, path)
			}
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	cat, err := Load(path)
	if err != nil {
		return nil, fmt.Errorf("loading signal catalog: %w", err)
	}
	return cat, nil
}
