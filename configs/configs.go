package configs

import _ "embed"

// Catalog is the built-in signal catalog (catalog.yaml).
//
//go:embed catalog.yaml
var Catalog []byte
