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
	cat, _, err := ReadFile(path, where)
	return cat, err
}

// ReadFile is LoadFile that also returns the file's content as read (nil
// when path is ""), so a recording can keep exactly the catalog it was
// read with. The file is read once: it may be a pipe (--catalog <(...)).
func ReadFile(path, where string) (*Catalog, []byte, error) {
	if path == "" {
		cat, err := Default()
		return cat, nil, err
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s: catalog file %s does not exist", where, path)
		}
		return nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("loading signal catalog: catalog: %w", err)
	}
	cat, err := LoadData(path, data)
	if err != nil {
		return nil, nil, err
	}
	return cat, data, nil
}

// LoadData is the built-in catalog extended by data, the content of the
// catalog file named name (for errors).
func LoadData(name string, data []byte) (*Catalog, error) {
	base, err := Default()
	if err != nil {
		return nil, err
	}
	user, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("loading signal catalog: catalog %s: %w", name, err)
	}
	return base.Extend(user), nil
}
