// Package gitfixture builds the small shop repository the demo incident's
// deploys were cut from, for tests of the git change source: the bad
// checkout commit among unrelated ones, with the release tags the deploys
// name.
package gitfixture
