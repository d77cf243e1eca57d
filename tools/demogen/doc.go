// Command demogen writes a generated demo incident as a snapshot folder,
// and/or as the raw series a real system would expose, in the OpenMetrics
// text format (for `promtool tsdb create-blocks-from openmetrics`):
//
//	go run ./tools/demogen -out testdata/incidents/pi-digits
//	go run ./tools/demogen -out /tmp/pay -seed 7 -service payments -fault memory-leak
//	go run ./tools/demogen -openmetrics /tmp/pi.om
//
// It refuses to write into a non-empty folder unless -force is given; with
// -force an earlier snapshot in the folder is replaced (a folder of other
// files is still refused, so a typo cannot wipe a directory). The
// OpenMetrics file is replaced if it exists.
package main
