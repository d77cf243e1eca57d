// Package devsets names the labelled dev sets the dev tools read by default.
package devsets

import "path/filepath"

// Names are the dev sets under ../shared/datasets, in the order the README
// reports them.
var Names = []string{"opennetai-sockshop", "petshop", "openstack-fault-injection"}

// Dirs is args, or the dev sets' folders when args is empty.
func Dirs(args []string) []string {
	if len(args) > 0 {
		return args
	}
	dirs := make([]string, 0, len(Names))
	for _, d := range Names {
		dirs = append(dirs, filepath.Join("..", "shared", "datasets", d))
	}
	return dirs
}
