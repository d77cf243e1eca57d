// Package golden compares a test's output with a golden file under
// testdata/ and, with go test's -update flag, rewrites the file from the
// output instead. A mismatch names the first differing line, both versions
// of it, and the command that rewrites the file.
package golden
