// Package configs holds rca's configuration files and embeds the one the
// binary needs: catalog.yaml, the built-in signal catalog that package
// catalog parses. rca.example.yaml, the annotated example of a user's
// config file, is documentation and is not embedded.
package configs
